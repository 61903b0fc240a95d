using System.Collections.Generic;

namespace FineTuning.Models.Tokenizers;

/// <summary>
/// A tokenizer that can encode text continuing earlier text. SentencePiece-style tokenizers prepend a
/// "dummy prefix" space to every <see cref="ITokenizer.Encode"/> call; when a conversation is tokenised
/// segment by segment (so that label masks are exact), only the first segment may get it.
/// </summary>
public interface IContinuationTokenizer : ITokenizer
{
    /// <summary>Token ids of <paramref name="text"/> as it would continue earlier text: no BOS, no dummy prefix.</summary>
    /// <param name="text">The text.</param>
    /// <returns>The ids.</returns>
    IReadOnlyList<int> EncodeContinuation(string text);
}

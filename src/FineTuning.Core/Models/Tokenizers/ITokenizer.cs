using System.Collections.Generic;

namespace FineTuning.Models.Tokenizers;

/// <summary>Turns text into token ids and back; implemented per tokenizer format (llama2.c, HF tokenizer.json, ...).</summary>
public interface ITokenizer
{
    /// <summary>Number of token ids.</summary>
    int VocabSize { get; }

    /// <summary>The beginning-of-sequence id.</summary>
    int BosId { get; }

    /// <summary>The end-of-sequence id.</summary>
    int EosId { get; }

    /// <summary>Token ids of <paramref name="text"/>, preceded by <see cref="BosId"/> when <paramref name="addBos"/>.</summary>
    /// <param name="text">The text.</param>
    /// <param name="addBos">Whether to prepend the beginning-of-sequence id.</param>
    /// <returns>The ids.</returns>
    IReadOnlyList<int> Encode(string text, bool addBos);

    /// <summary>The text of <paramref name="ids"/>; special tokens (BOS, EOS) produce no text.</summary>
    /// <param name="ids">Token ids.</param>
    /// <returns>The text; invalid UTF-8 (for example a character cut in the middle) becomes U+FFFD.</returns>
    string Decode(IEnumerable<int> ids);
}

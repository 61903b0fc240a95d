using System.Collections.Generic;

namespace FineTuning.Models.Tokenizers;

/// <summary>The ids a tokenizer has for special-token markers (chat templates' <c>&lt;|im_end|&gt;</c> and the like).</summary>
internal static class SpecialTokenIds
{
    private static readonly IReadOnlyDictionary<string, int> None = new Dictionary<string, int>();

    internal static IReadOnlyDictionary<string, int> Of(ITokenizer tokenizer) => tokenizer switch
    {
        HfTokenizer hf => hf.SpecialTokens,
        AddedTokensTokenizer added => added.SpecialTokens,
        _ => None,
    };
}

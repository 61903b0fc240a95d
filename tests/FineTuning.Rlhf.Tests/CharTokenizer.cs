using System.Collections.Generic;
using System.Linq;
using FineTuning.Models.Tokenizers;

namespace FineTuning.Rlhf.Tests;

/// <summary>One token per character for the tiny test LLaMA (vocabulary 48): 0 pad, 1 BOS, 2 EOS, 3.. the alphabet.</summary>
internal sealed class CharTokenizer : ITokenizer
{
    internal const string Alphabet = "abcdefghijklmnopqrstuvwxyz0123456789 .,!?ABCD";

    public int VocabSize => 3 + Alphabet.Length;

    public int BosId => 1;

    public int EosId => 2;

    public IReadOnlyList<int> Encode(string text, bool addBos) =>
        (addBos ? new[] { BosId } : System.Array.Empty<int>()).Concat(text.Select(c => 3 + Alphabet.IndexOf(c))).ToArray();

    public string Decode(IEnumerable<int> ids) => new(ids.Where(i => i >= 3 && i < VocabSize).Select(i => Alphabet[i - 3]).ToArray());
}

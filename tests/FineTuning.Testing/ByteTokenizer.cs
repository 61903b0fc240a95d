using System.Collections.Generic;
using System.Linq;
using System.Text;
using FineTuning.Models.Tokenizers;

namespace FineTuning.Testing;

/// <summary>Test tokenizer: 0 unk, 1 BOS, 2 EOS, then one token per UTF-8 byte (id = byte + 3); ids 259+ are free for special tokens.</summary>
public sealed class ByteTokenizer : ITokenizer
{
    public int VocabSize => 259;

    public int BosId => 1;

    public int EosId => 2;

    public IReadOnlyList<int> Encode(string text, bool addBos)
    {
        var ids = new List<int>();
        if (addBos) ids.Add(BosId);
        ids.AddRange(Encoding.UTF8.GetBytes(text).Select(b => b + 3));
        return ids;
    }

    public string Decode(IEnumerable<int> ids) =>
        Encoding.UTF8.GetString(ids.Where(i => i >= 3 && i < 259).Select(i => (byte)(i - 3)).ToArray());
}

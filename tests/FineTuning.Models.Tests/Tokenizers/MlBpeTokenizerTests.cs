using System.Collections.Generic;
using System.Linq;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;
using Xunit;

namespace FineTuning.Models.Tests.Tokenizers;

/// <summary>
/// Evidence for docs/models.md ("Tokenizers"): Microsoft.ML.Tokenizers' own BpeTokenizer, given the GPT-2
/// vocab + merges with <c>ByteLevel = true</c>, agrees with its TiktokenTokenizer, so for plain byte-level BPE it
/// would be a correct engine. It is not our engine because BpeOptions has no byte fallback (LLaMA-2, Mistral)
/// and no ignore_merges (LLaMA-3), and SentencePieceTokenizer reads only SentencePiece .model files.
/// </summary>
public sealed class MlBpeTokenizerTests
{
    [Fact]
    public void MlBpeTokenizer_Gpt2VocabAndMerges_AgreesWithTiktoken()
    {
        using JsonDocument doc = JsonDocument.Parse(Gpt2TokenizerJson.Json);
        JsonElement model = doc.RootElement.GetProperty("model");
        var vocab = model.GetProperty("vocab").EnumerateObject().Select(p => new KeyValuePair<string, int>(p.Name, p.Value.GetInt32())).ToList();
        vocab.Add(new KeyValuePair<string, int>("<|endoftext|>", 50256));
        var specials = new Dictionary<string, int> { ["<|endoftext|>"] = 50256 };
        BpeTokenizer bpe = BpeTokenizer.Create(new BpeOptions(vocab)
        {
            Merges = model.GetProperty("merges").EnumerateArray().Select(m => m.GetString()!).ToList(),
            ByteLevel = true,
            SpecialTokens = specials,
            PreTokenizer = new RegexPreTokenizer(new Regex(@"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"), specials),
        });
        TiktokenTokenizer tiktoken = TiktokenTokenizer.CreateForModel("gpt2");
        foreach (string text in ((IEnumerable<object[]>)Gpt2ParityTests.Corpus()).Select(r => (string)r[0]).Concat(Gpt2ParityTests.SpamAssassinTexts(50)))
        {
            Assert.Equal(tiktoken.EncodeToIds(text), bpe.EncodeToIds(text));
        }
    }
}

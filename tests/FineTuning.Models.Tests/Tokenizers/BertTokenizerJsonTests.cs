using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using FineTuning.Models.Bert;
using FineTuning.Models.Tests.Bert;
using FineTuning.Models.Tokenizers;
using Xunit;

namespace FineTuning.Models.Tests.Tokenizers;

/// <summary>
/// HfTokenizer on a BERT tokenizer.json (the layout HF writes for bert-base-uncased: BertNormalizer,
/// BertPreTokenizer, WordPiece, [CLS] A [SEP] template) built from all-MiniLM-L6-v2's vocab.txt, against our
/// WordPieceTokenizer, which follows google-research tokenization.py and is checked against hand-made ids.
/// </summary>
[Collection(MiniLMCollection.Name)]
public sealed class BertTokenizerJsonTests(MiniLMFixture fixture)
{
    [Fact]
    public void Encode_ParitySentences_EqualsWordPieceTokenizer()
    {
        HfTokenizer hf = HfTokenizer.Parse(BuildJson(WordPieceTokenizer.ParseVocabulary(File.ReadAllText(fixture.VocabPath))));
        Assert.Equal(101, hf.BosId);
        Assert.Equal(102, hf.EosId);
        foreach (string text in ParitySentences.All)
        {
            int[] expected = fixture.Tokenizer.Encode(text, int.MaxValue).InputIds.ToArray();
            Assert.Equal(expected, hf.Encode(text, addBos: true).Append(hf.EosId));
        }
        Assert.Equal("hello, world!", hf.Decode(hf.Encode("Hello, World!", addBos: true)));
    }

    private static string BuildJson(IReadOnlyList<string> vocabulary)
    {
        var vocab = new JsonObject();
        for (int i = 0; i < vocabulary.Count; i++) vocab[vocabulary[i]] = i;
        var added = new JsonArray(new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" }
            .Select(t => (JsonNode)new JsonObject { ["id"] = vocabulary.ToList().IndexOf(t), ["content"] = t, ["special"] = true }).ToArray());
        var root = new JsonObject
        {
            ["added_tokens"] = added,
            ["normalizer"] = new JsonObject { ["type"] = "BertNormalizer", ["clean_text"] = true, ["handle_chinese_chars"] = true, ["strip_accents"] = null, ["lowercase"] = true },
            ["pre_tokenizer"] = new JsonObject { ["type"] = "BertPreTokenizer" },
            ["post_processor"] = new JsonObject { ["type"] = "BertProcessing", ["sep"] = new JsonArray("[SEP]", 102), ["cls"] = new JsonArray("[CLS]", 101) },
            ["decoder"] = new JsonObject { ["type"] = "WordPiece", ["prefix"] = "##", ["cleanup"] = true },
            ["model"] = new JsonObject { ["type"] = "WordPiece", ["unk_token"] = "[UNK]", ["continuing_subword_prefix"] = "##", ["max_input_chars_per_word"] = 100, ["vocab"] = vocab },
        };
        return root.ToJsonString();
    }
}

using System.IO;
using System.Text.Json.Nodes;
using FineTuning.Models;
using FineTuning.Models.Tokenizers;
using Xunit;

namespace FineTuning.Core.Tests.Models.Tokenizers;

/// <summary>Broken or unsupported tokenizer files end in a <see cref="ModelFileException"/> naming the file and the field.</summary>
public sealed class HfTokenizerErrorTests
{
    [Theory]
    [InlineData("""{"type": "Unigram", "vocab": [["a", 0.0]]}""", "model.type")]
    [InlineData("""{"type": "BPE", "merges": []}""", "model.vocab")]
    [InlineData("""{"type": "BPE", "vocab": {"a": 0}}""", "model.merges")]
    [InlineData("""{"type": "BPE", "vocab": {"a": 0}, "merges": ["a b"]}""", "model.merges[0]")]
    [InlineData("""{"type": "BPE", "vocab": {"a": 0}, "merges": ["a"]}""", "model.merges[0]")]
    [InlineData("""{"type": "BPE", "vocab": {"a": "zero"}, "merges": []}""", "model.vocab[\"a\"]")]
    [InlineData("""{"type": "BPE", "vocab": {"a": 0}, "merges": [], "unk_token": "<unk>"}""", "model.unk_token")]
    [InlineData("""{"type": "WordPiece", "vocab": {"a": 0}}""", "model.unk_token")]
    public void Parse_BadModel_NamesTheField(string model, string field)
    {
        var e = Assert.Throws<ModelFileException>(() => HfTokenizer.Parse($$"""{"model": {{model}}}"""));
        Assert.Contains("tokenizer.json", e.Message, System.StringComparison.Ordinal);
        Assert.Contains($"'{field}'", e.Message, System.StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("normalizer", """{"type": "Precompiled", "precompiled_charsmap": ""}""", "normalizer.type")]
    [InlineData("pre_tokenizer", """{"type": "Split", "pattern": {"Regex": "("}, "behavior": "Isolated"}""", "pre_tokenizer.pattern.Regex")]
    [InlineData("pre_tokenizer", """{"type": "Split", "pattern": {"Regex": "a"}, "behavior": "Sideways"}""", "pre_tokenizer.behavior")]
    [InlineData("decoder", """{"type": "Sequence", "decoders": [{"type": "CTC"}]}""", "decoder.decoders[0].type")]
    [InlineData("added_tokens", """[{"content": "<x>"}]""", "added_tokens[0].id")]
    public void Parse_BadComponent_NamesTheField(string property, string value, string field)
    {
        string json = TokenizerFixtures.Edited(TokenizerFixtures.ByteLevel, root => root[property] = JsonNode.Parse(value));
        var e = Assert.Throws<ModelFileException>(() => HfTokenizer.Parse(json));
        Assert.Contains($"'{field}'", e.Message, System.StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{")]
    [InlineData("")]
    [InlineData("[]")]
    [InlineData("{}")]
    public void Parse_MalformedJson_ThrowsModelFileException(string json) =>
        Assert.Throws<ModelFileException>(() => HfTokenizer.Parse(json));

    [Fact]
    public void Load_BadFile_NamesThePath()
    {
        string path = Path.Combine(Path.GetTempPath(), $"broken-{System.Guid.NewGuid():N}.tokenizer.json");
        File.WriteAllText(path, """{"model": {"type": "Mystery"}}""");
        try
        {
            var e = Assert.Throws<ModelFileException>(() => HfTokenizer.Load(path));
            Assert.Equal(path, e.FilePath);
            Assert.Contains("'model.type'", e.Message, System.StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Parse_ConfigWithUnknownBosToken_NamesConfigAndField()
    {
        var e = Assert.Throws<ModelFileException>(() => HfTokenizer.Parse(TokenizerFixtures.Text(TokenizerFixtures.ByteLevel), """{"bos_token": "<nope>"}"""));
        Assert.Equal("tokenizer_config.json", e.FilePath);
        Assert.Contains("'bos_token'", e.Message, System.StringComparison.Ordinal);
    }

    [Fact]
    public void Encode_AddBosWithoutBos_ThrowsInvalidOperation()
    {
        string json = TokenizerFixtures.Edited(TokenizerFixtures.ByteLevel, root => root["added_tokens"] = new JsonArray());
        HfTokenizer noSpecials = HfTokenizer.Parse(json);
        Assert.Equal(-1, noSpecials.BosId);
        Assert.Throws<System.InvalidOperationException>(() => noSpecials.Encode("a", addBos: true));
    }
}

using System.IO;
using System.Text.Json.Nodes;
using FineTuning.Models.Tokenizers;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Xunit;

namespace FineTuning.Core.Tests.Models.Tokenizers;

/// <summary>
/// SentencePiece-style BPE as LLaMA-2 / TinyLlama ship it in tokenizer.json: normalizer Prepend("▁") + Replace(" ", "▁"),
/// no pre-tokenizer, byte fallback (&lt;0xNN&gt; = 3 + NN), decoder Replace + ByteFallback + Fuse + Strip.
/// Fixture ids: ▁ 259, h 260, e 261, l 262, o 263, w 264, r 265, d 266, then the merges in rank order:
/// ▁h 267, ll 268, ▁he 269, ▁hell 270, ▁hello 271, ▁w 272, or 273, ▁wor 274, ld 275, ▁world 276.
/// </summary>
public sealed class HfTokenizerSentencePieceTests
{
    private static readonly HfTokenizer Tokenizer = TokenizerFixtures.Load(TokenizerFixtures.SentencePiece);

    [Fact]
    public void Load_Fixture_TakesBosFromTemplateAndEosByName()
    {
        Assert.Equal(1, Tokenizer.BosId);
        Assert.Equal(2, Tokenizer.EosId);
        Assert.True(Tokenizer.AddBosByDefault);
        Assert.Equal(277, Tokenizer.VocabSize);
    }

    [Theory]
    // "▁hello▁world" is one word (no pre-tokenizer), merged in rank order: ▁h, ll, ▁he, ▁hell, ▁hello, ▁w, or, ▁wor, ld, ▁world.
    [InlineData("hello world", new[] { 271, 276 })]
    // é is not in the vocabulary: its bytes C3 A9 -> <0xC3> = 198, <0xA9> = 172.
    [InlineData("hé", new[] { 267, 198, 172 })]
    // Two spaces: "▁▁world" -> ▁ then ▁world (no "▁ ▁" merge).
    [InlineData("hello  world", new[] { 271, 259, 276 })]
    [InlineData("", new int[0])]
    public void Encode_Text_GivesHandComputedIds(string text, int[] expected) =>
        Assert.Equal(expected, Tokenizer.Encode(text, addBos: false));

    [Fact]
    public void Encode_SpecialTokenInsideText_SplitsThePrependNormalizerPerPiece()
    {
        // As HF's legacy LLaMA tokenizer: the normalizer runs per piece, so " world" after </s> becomes "▁▁world".
        Assert.Equal(new[] { 1, 271, 2, 259, 276 }, Tokenizer.Encode("hello</s> world", addBos: true));
    }

    [Fact]
    public void Encode_MetaspacePreTokenizerFirstScheme_PrependsOnlyAtTextStart()
    {
        // The newer layout (Mistral, recent LLaMA-2 exports): no normalizer, Metaspace(prepend_scheme "first", split false).
        string json = TokenizerFixtures.Edited(TokenizerFixtures.SentencePiece, root =>
        {
            root["normalizer"] = null;
            root["pre_tokenizer"] = JsonNode.Parse("""{"type":"Metaspace","replacement":"▁","prepend_scheme":"first","split":false}""");
            root["decoder"] = JsonNode.Parse("""{"type":"Sequence","decoders":[{"type":"Metaspace","replacement":"▁","prepend_scheme":"first","split":false},{"type":"ByteFallback"},{"type":"Fuse"}]}""");
        });
        HfTokenizer metaspace = HfTokenizer.Parse(json);
        Assert.Equal(new[] { 271, 2, 276 }, metaspace.Encode("hello</s> world", addBos: false));
        Assert.Equal(new[] { 271, 276 }, metaspace.Encode("hello world", addBos: false));
        Assert.Equal("hello world", metaspace.Decode([1, 271, 276]));
    }

    [Fact]
    public void Decode_BytesAndSpecials_RebuildsText()
    {
        Assert.Equal("hello world", Tokenizer.Decode([1, 271, 276, 2]));
        Assert.Equal("hé", Tokenizer.Decode([267, 198, 172]));
        // A cut character: one U+FFFD per invalid byte, as HF's ByteFallback.
        Assert.Equal("h\uFFFD", Tokenizer.Decode([267, 198]));
    }

    [Fact]
    public void Load_ConfigBosToken_WinsOverTemplate()
    {
        string dir = Path.Combine(Path.GetTempPath(), "hf-tok-" + System.Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            File.Copy(TokenizerFixtures.PathOf(TokenizerFixtures.SentencePiece), Path.Combine(dir, "tokenizer.json"));
            File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"),
                """{"bos_token": {"content": "</s>", "__type": "AddedToken"}, "eos_token": "<unk>", "add_bos_token": false}""");
            HfTokenizer fromFolder = HfTokenizer.Load(dir);
            Assert.Equal(2, fromFolder.BosId);
            Assert.Equal(0, fromFolder.EosId);
            Assert.False(fromFolder.AddBosByDefault);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Property(MaxTest = 300, Replay = "(20261128,13)")]
    public Property DecodeOfEncode_TextWithoutMetaspaceOrSpecials_IsTheText() =>
        Prop.ForAll(Arb.From(TokenizerFixtures.UnicodeText(s => TokenizerFixtures.IsValidUtf16(s) && !s.Contains('\u2581')
                && !s.Contains("<s>", System.StringComparison.Ordinal) && !s.Contains("</s>", System.StringComparison.Ordinal)
                && !s.Contains("<unk>", System.StringComparison.Ordinal))),
            text => Tokenizer.Decode(Tokenizer.Encode(text, addBos: true)) == text);
}

using System.Linq;
using System.Text.Json.Nodes;
using FineTuning.Models.Tokenizers;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Xunit;

namespace FineTuning.Core.Tests.Models.Tokenizers;

/// <summary>
/// Byte-level BPE (GPT-2 style) on the bytelevel-bpe fixture: ids 0..255 are the bytes, 256.. the merges in
/// rank order (Ġ t, h e, Ġt he, l l, e ll, h ell, hell o, Ġ w, o r, Ġw or, l d, Ġwor ld), 268 = &lt;|endoftext|&gt;.
/// Expected ids are worked out by hand from the merge ranks.
/// </summary>
public sealed class HfTokenizerByteLevelTests
{
    private static readonly HfTokenizer Tokenizer = TokenizerFixtures.Load(TokenizerFixtures.ByteLevel);

    [Fact]
    public void Load_ByteLevelFixture_ReadsSizesAndSpecials()
    {
        Assert.Equal("BPE", Tokenizer.ModelType);
        Assert.Equal(269, Tokenizer.VocabSize);
        // No tokenizer_config.json, no template: BOS and EOS fall back to the well-known <|endoftext|>.
        Assert.Equal(268, Tokenizer.BosId);
        Assert.Equal(268, Tokenizer.EosId);
        Assert.False(Tokenizer.AddBosByDefault);
        Assert.Equal(256, Tokenizer.TokenToId("Ġt"));
        Assert.Equal("Ġworld", Tokenizer.IdToToken(267));
    }

    [Theory]
    // "hello": h e -> he (rank 1) beats l l (rank 3); "e ll" then never applies, "he ll" is not a merge.
    [InlineData("hello", new[] { 257, 259, 111 })]
    // " world": Ġ w (7), o r (8), Ġw or (9), l d (10), Ġwor ld (11).
    [InlineData("hello world", new[] { 257, 259, 111, 267 })]
    // "the" has no "t he" merge; " the" goes Ġ t (0), h e (1), Ġt he (2).
    [InlineData("the the", new[] { 116, 257, 258 })]
    // Whitespace runs: "\s+(?!\S)" leaves the last space to join the word.
    [InlineData("a  b", new[] { 97, 32, 32, 98 })]
    [InlineData("a\n\nb", new[] { 97, 10, 10, 98 })]
    // Unknown characters are their UTF-8 bytes: é = C3 A9, 😀 = F0 9F 98 80.
    [InlineData("é😀", new[] { 0xC3, 0xA9, 0xF0, 0x9F, 0x98, 0x80 })]
    // Contractions split off as in GPT-2.
    [InlineData("it's", new[] { 105, 116, 39, 115 })]
    [InlineData("", new int[0])]
    public void Encode_Text_GivesHandComputedIds(string text, int[] expected) =>
        Assert.Equal(expected, Tokenizer.Encode(text, addBos: false));

    [Fact]
    public void Encode_SpecialTokenInsideText_IsMatchedBeforeBpe()
    {
        Assert.Equal(new[] { 97, 268, 267 }, Tokenizer.Encode("a<|endoftext|> world", addBos: false));
        // Split as HF: the text after the token is its own piece, so its leading space stays a Ġ.
        Assert.Equal(new[] { 268, 268 }, Tokenizer.Encode("<|endoftext|><|endoftext|>", addBos: false));
        Assert.Equal(new[] { 60, 124, 101, 110, 100 }, Tokenizer.Encode("<|end", addBos: false));
    }

    [Theory]
    // lstrip swallows the whitespace before the token, rstrip the whitespace after it.
    [InlineData(true, false, false, "a <m>b", new[] { 97, 269, 98 })]
    [InlineData(false, false, false, "a <m>b", new[] { 97, 32, 269, 98 })]
    [InlineData(false, true, false, "a<m>  b", new[] { 97, 269, 98 })]
    // single_word: not matched inside a word (then it is plain text: < m > as bytes).
    [InlineData(false, false, true, "a<m>b", new[] { 97, 60, 109, 62, 98 })]
    [InlineData(false, false, true, "a <m> b", new[] { 97, 32, 269, 32, 98 })]
    public void Encode_AddedTokenOptions_FollowHf(bool lstrip, bool rstrip, bool singleWord, string text, int[] expected)
    {
        string json = TokenizerFixtures.Edited(TokenizerFixtures.ByteLevel, root => root["added_tokens"]!.AsArray().Add(new JsonObject
        {
            ["id"] = 269, ["content"] = "<m>", ["special"] = true, ["lstrip"] = lstrip, ["rstrip"] = rstrip, ["single_word"] = singleWord,
        }));
        Assert.Equal(expected, HfTokenizer.Parse(json).Encode(text, addBos: false));
    }

    [Fact]
    public void Encode_AddBos_PrependsBos() =>
        Assert.Equal(new[] { 268, 257, 259, 111 }, Tokenizer.Encode("hello", addBos: true));

    [Fact]
    public void Decode_SkipsSpecialTokensAndJoinsBytes()
    {
        Assert.Equal("hello world", Tokenizer.Decode([268, 257, 259, 111, 267, 268]));
        Assert.Equal("é", Tokenizer.Decode([0xC3, 0xA9]));
        Assert.Equal("\uFFFD", Tokenizer.Decode([0xC3]));
    }

    [Fact]
    public void Load_MergesAsPairs_EncodesLikeStrings()
    {
        string json = TokenizerFixtures.Edited(TokenizerFixtures.ByteLevel, root =>
        {
            JsonArray merges = root["model"]!["merges"]!.AsArray();
            var pairs = new JsonArray(merges.Select(m => (JsonNode)new JsonArray(m!.GetValue<string>().Split(' ').Select(p => (JsonNode)p!).ToArray())).ToArray());
            root["model"]!["merges"] = pairs;
        });
        HfTokenizer fromPairs = HfTokenizer.Parse(json);
        foreach (string text in new[] { "hello world", "the the", "a<|endoftext|> world" })
        {
            Assert.Equal(Tokenizer.Encode(text, false), fromPairs.Encode(text, false));
        }
    }

    [Fact]
    public void Encode_AddPrefixSpace_TreatsFirstWordLikeLaterOnes()
    {
        string json = TokenizerFixtures.Edited(TokenizerFixtures.ByteLevel, root => root["pre_tokenizer"]!["add_prefix_space"] = true);
        Assert.Equal(new[] { 258, 258 }, HfTokenizer.Parse(json).Encode("the the", false));
    }

    [Fact]
    public void Encode_Llama3Layout_SplitsWithItsRegexAndIgnoresMerges()
    {
        // LLaMA-3 / SmolLM layout: Split(regex, Isolated) then ByteLevel without its own regex; ignore_merges = a
        // piece that is itself in the vocabulary is taken whole ("hello" = 262) instead of merged (257 259 111).
        const string llama3 = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
        string json = TokenizerFixtures.Edited(TokenizerFixtures.ByteLevel, root =>
        {
            root["pre_tokenizer"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["pretokenizers"] = new JsonArray(
                    new JsonObject { ["type"] = "Split", ["pattern"] = new JsonObject { ["Regex"] = llama3 }, ["behavior"] = "Isolated", ["invert"] = false },
                    new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["use_regex"] = false }),
            };
            root["model"]!["ignore_merges"] = true;
        });
        HfTokenizer tokenizer = HfTokenizer.Parse(json);
        Assert.Equal(new[] { 262, 267 }, tokenizer.Encode("hello world", addBos: false));
        // Digits in groups of at most three: "12345" -> "123" "45"; "'S" matches case-insensitively.
        Assert.Equal(new[] { 49, 50, 51, 52, 53, 39, 83 }, tokenizer.Encode("12345'S", addBos: false));
        Assert.Equal("hello world 12345'S", tokenizer.Decode(tokenizer.Encode("hello world 12345'S", addBos: false)));
    }

    [Property(MaxTest = 300, Replay = "(20261128,11)")]
    public Property DecodeOfEncode_AnyValidText_IsTheText() =>
        Prop.ForAll(Arb.From(TokenizerFixtures.UnicodeText(s => TokenizerFixtures.IsValidUtf16(s) && !s.Contains("<|endoftext|>", System.StringComparison.Ordinal))),
            text => Tokenizer.Decode(Tokenizer.Encode(text, addBos: true)) == text);
}

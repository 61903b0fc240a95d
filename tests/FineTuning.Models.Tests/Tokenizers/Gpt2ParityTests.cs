using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using FineTuning.Models.Tokenizers;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Microsoft.ML.Tokenizers;
using Xunit;

namespace FineTuning.Models.Tests.Tokenizers;

/// <summary>
/// Our HfTokenizer on a GPT-2 tokenizer.json against Microsoft.ML.Tokenizers' TiktokenTokenizer on the same
/// gpt2.tiktoken ranks: an independent implementation of byte-level BPE (tiktoken merges by rank of the merged
/// bytes, HF by rank of the merge rule; both must give the same ids).
/// </summary>
public sealed class Gpt2ParityTests
{
    private static readonly Lazy<HfTokenizer> Ours = new(() => HfTokenizer.Parse(Gpt2TokenizerJson.Json));
    private static readonly Lazy<TiktokenTokenizer> Reference = new(() => TiktokenTokenizer.CreateForModel("gpt2"));

    public static TheoryData<string> Corpus() => new()
    {
        "Hello world", "hello world!", " leading space", "trailing space ", "  two leading", "tabs\tand\nnewlines\r\n",
        "many     spaces     here", "\n\n\n", "   ", "It's, we'll, they're, I'd, you've, I'M", "don't can't won't",
        "Numbers: 1 12 123 1234 12345 3.14159 -42 1e10 0x1F", "2026-11-28T14:27:34Z",
        "Ünïcödé çàfé naïve résumé", "Здравствуй, мир", "日本語のテキスト", "中文分词测试", "한국어 텍스트", "עברית", "العربية",
        "Emoji 😀😃😄 👩‍💻 🇫🇷 ❤️", "math ∑∫√∞ ≤ ≥", "symbols $100 a+b x^y €5 ©2024 ½", "<html><body>Hi</body></html>",
        "def f(x):\n    return x ** 2  # square\n", "URL https://example.com/a?b=c&d=e", "e-mail: someone@example.com",
        "a<|endoftext|>b", "<|endoftext|>", "end of text <|endoftext|> and more", "<|endoftext", "\u00A0non-breaking\u2003em",
        "zero\u200Bwidth", "combining e\u0301", "\0null", "'''", "'s 's", "x'sy",
    };

    [Theory]
    [MemberData(nameof(Corpus))]
    public void Encode_Corpus_EqualsTiktoken(string text) =>
        Assert.Equal(Reference.Value.EncodeToIds(text), Ours.Value.Encode(text, addBos: false));

    [Fact]
    public void Encode_SpamAssassinTexts_EqualsTiktoken()
    {
        List<string> texts = SpamAssassinTexts(200);
        Assert.True(texts.Count >= 100);
        foreach (string text in texts) Assert.Equal(Reference.Value.EncodeToIds(text), Ours.Value.Encode(text, addBos: false));
    }

    [Fact]
    public void Decode_Corpus_EqualsTiktokenAndRoundTrips()
    {
        foreach (string text in ((IEnumerable<object[]>)Corpus()).Select(row => (string)row[0]).Where(t => !t.Contains("<|endoftext|>", StringComparison.Ordinal)))
        {
            IReadOnlyList<int> ids = Ours.Value.Encode(text, addBos: false);
            Assert.Equal(Reference.Value.Decode(ids), Ours.Value.Decode(ids));
            Assert.Equal(text, Ours.Value.Decode(ids));
        }
    }

    [Fact]
    public void Load_Gpt2_HasGpt2Sizes()
    {
        Assert.Equal(50257, Ours.Value.VocabSize);
        Assert.Equal(50256, Ours.Value.EosId);
        // Published GPT-2 ids: "Hello world" -> 15496 995.
        Assert.Equal(new[] { 15496, 995 }, Ours.Value.Encode("Hello world", addBos: false));
    }

    [Property(MaxTest = 200, Replay = "(20261128,15)")]
    public Property Encode_RandomText_EqualsTiktoken() =>
        Prop.ForAll(Arb.From(RandomText()), text => Reference.Value.EncodeToIds(text).SequenceEqual(Ours.Value.Encode(text, addBos: false)));

    private static Gen<string> RandomText()
    {
        string[] pool = ["a", "the", " ", "  ", "\t", "\n", "\r\n", "é", "中文", "😀", "123", "'s", "'S", ".", "!?", "\u00A0", "x", "Ab"];
        // Scalar values from the BMP (no surrogates) and beyond; U+FFFD-free so that both sides see the same text.
        Gen<string> scalar = Gen.OneOf(Gen.Choose(0x20, 0xD7FF), Gen.Choose(0xE000, 0xFFFC), Gen.Choose(0x10000, 0x10FFFF)).Select(char.ConvertFromUtf32);
        return Gen.ArrayOf(Gen.Frequency((3, Gen.Elements(pool)), (1, scalar))).Select(p => string.Concat(p));
    }

    internal static List<string> SpamAssassinTexts(int max)
    {
        string dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "examples", "data", "spam-assassin", "train.jsonl"))) dir = Path.GetDirectoryName(dir)!;
        Assert.NotNull(dir);
        return File.ReadLines(Path.Combine(dir!, "examples", "data", "spam-assassin", "train.jsonl")).Take(max)
            .Select(line => JsonDocument.Parse(line).RootElement.GetProperty("text").GetString()!).ToList();
    }
}

using System;
using System.Collections.Generic;
using System.Linq;
using System.Globalization;
using System.Text;
using FineTuning.Models.Bert;
using FsCheck;
using FsCheck.Fluent;
using Microsoft.ML.Tokenizers;
using Xunit;

namespace FineTuning.Models.Tests.Bert;

/// <summary>Our WordPiece tokenizer against hand-checked ids and Microsoft.ML.Tokenizers' BertTokenizer on the same vocab.txt.</summary>
[Collection(MiniLMCollection.Name)]
public sealed class WordPieceTokenizerTests
{
    private static readonly object Gate = new();
    private static BertTokenizer? s_reference;
    private readonly MiniLMFixture _fixture;

    public WordPieceTokenizerTests(MiniLMFixture fixture) => _fixture = fixture;

    private BertTokenizer Reference()
    {
        lock (Gate)
        {
            return s_reference ??= BertTokenizer.Create(_fixture.VocabPath, new BertOptions { LowerCaseBeforeTokenization = true, RemoveNonSpacingMarks = true });
        }
    }

    private int[] Ours(string text) => _fixture.Tokenizer.Encode(text, int.MaxValue).InputIds.ToArray();

    private int[] Theirs(string text) => Reference().EncodeToIds(text).ToArray();

    [Theory]
    [InlineData("hello world", new[] { 101, 7592, 2088, 102 })]
    [InlineData("Hello, World!", new[] { 101, 7592, 1010, 2088, 999, 102 })]
    [InlineData("unaffable", new[] { 101, 14477, 20961, 3468, 102 })]
    [InlineData("café", new[] { 101, 7668, 102 })]
    [InlineData("", new[] { 101, 102 })]
    public void Encode_HandCheckedText_GivesVocabIds(string text, int[] expected)
    {
        Assert.Equal(expected, Ours(text));
    }

    [Fact]
    public void Tokenize_WordLongerThan100Chars_BecomesOneUnk()
    {
        Assert.Equal(["[UNK]"], _fixture.Tokenizer.Tokenize(new string('a', 101)));
        Assert.NotEqual(["[UNK]"], _fixture.Tokenizer.Tokenize(new string('a', 100)));
    }

    /// <summary>
    /// Microsoft.ML.Tokenizers 2.0.1 departs from Hugging Face's BertTokenizer (google-research/bert
    /// tokenization.py) on a few character classes, so the reference comparison skips text containing them; the
    /// HF behaviour there is checked by hand below. It drops symbols (Sc, Sk, Sm, So, including ASCII $ + ^ ` ~ | &lt; = &gt;,
    /// which HF treats as punctuation) and the numbers ½, ², Ⅻ (No, Nl), drops emoji instead of mapping them to [UNK],
    /// deletes tab, CR and LF (HF splits words there), splits at format characters (HF deletes them) and does not
    /// decompose Hangul syllables into jamo (HF's NFD does); it keeps '_' inside words (HF splits there).
    /// </summary>
    internal static bool ReferenceAgreesWithHf(string text) =>
        text.EnumerateRunes().All(r => r.Value is not ((>= 0xAC00 and <= 0xD7A3) or '\t' or '\n' or '\r' or '_')
            && Rune.GetUnicodeCategory(r) is not (UnicodeCategory.CurrencySymbol or UnicodeCategory.ModifierSymbol
                or UnicodeCategory.MathSymbol or UnicodeCategory.OtherSymbol or UnicodeCategory.Format
                or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber));

    [Fact]
    public void Encode_ParitySentences_EqualReferenceIds()
    {
        string[] comparable = ParitySentences.All.Where(ReferenceAgreesWithHf).ToArray();
        Assert.True(comparable.Length >= 16, $"only {comparable.Length} sentences are comparable");
        Assert.All(comparable, s => Assert.Equal(Theirs(s), Ours(s)));
    }

    [Theory]
    [InlineData("control\u0001\u0007chars\u0000and\u0085nel")]
    [InlineData("e\u0301 combining acute, A\u030A ring, standalone \u0301 mark")]
    [InlineData("ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３ and ｶﾀｶﾅ")]
    [InlineData("ﬁ ﬂ ǅ ǈ Ǉ ΣΑΣ ὈΔΥΣΣΕΎΣ Ǆ ẞ ß")]
    [InlineData("日本語のテキストと中文文本和")]
    [InlineData("«guillemets» „quotes“ ‹›—–… ¿¡ § ¶")]
    [InlineData("Ελληνικά Русский Ελλάδα Ἀθῆναι Tiếng Việt Polski żółć")]
    public void Encode_EdgeCases_EqualReferenceIds(string text)
    {
        Assert.True(ReferenceAgreesWithHf(text));
        Assert.Equal(Theirs(text), Ours(text));
    }

    [Theory]
    [InlineData("$100", new[] { "$", "100" })]
    [InlineData("a+b=c^2", new[] { "a", "+", "b", "=", "c", "^", "2" })]
    [InlineData("I love 😍!", new[] { "i", "love", "[UNK]", "!" })]
    [InlineData("a\tb\r\nc", new[] { "a", "b", "c" })]
    [InlineData("snake_case", new[] { "snake", "_", "case" })]
    [InlineData("x² ½ Ⅻ", new[] { "x", "##²", "½", "[UNK]" })]
    [InlineData("zero\u200Bwidth", new[] { "zero", "##wi", "##dt", "##h" })]
    [InlineData("안녕", new[] { "ᄋ", "##ᅡ", "##ᆫ", "##ᄂ", "##ᅧ", "##ᆼ" })]
    [InlineData("İstanbul", new[] { "istanbul" })]
    public void Tokenize_WhereReferenceDeparts_FollowsHuggingFace(string text, string[] expected)
    {
        // Hand-checked against HF's rules: ASCII non-alphanumerics are punctuation, unknown words become [UNK],
        // Cf characters are deleted, lower-casing is followed by NFD and removal of Mn marks.
        Assert.Equal(expected, _fixture.Tokenizer.Tokenize(text));
    }

    [Fact]
    public void Tokenize_FormatCharacters_AreDeleted()
    {
        Assert.Equal(_fixture.Tokenizer.Tokenize("softhyphen zerowidth"), _fixture.Tokenizer.Tokenize("soft\u00ADhyphen zero\u200Bwidth"));
    }

    [Fact]
    public void AccentStripping_EveryBmpLetter_EqualsIcuNfdWithoutMarks()
    {
        // This project runs with ICU, so string.Normalize is real here; the library's own table must agree with it.
        var mismatches = new List<string>();
        for (int cp = 0; cp < 0x10000; cp++)
        {
            if (cp is (>= 0xD800 and <= 0xDFFF) or (>= 0x4E00 and <= 0x9FFF) or (>= 0x3400 and <= 0x4DBF) or (>= 0xF900 and <= 0xFAFF)) continue;
            string c = ((char)cp).ToString();
            if (!char.IsLetter(c[0])) continue;
            string expected = string.Concat(c.ToLowerInvariant().Normalize(NormalizationForm.FormD)
                .Where(ch => CharUnicodeInfo.GetUnicodeCategory(ch) != UnicodeCategory.NonSpacingMark)).ToLowerInvariant();
            string actual = string.Concat(FineTuning.Models.Bert.BertTextNormalizer.Split(c, lowerCase: true));
            if (expected != actual) mismatches.Add($"U+{cp:X4}: expected '{expected}', got '{actual}'");
        }
        Assert.Empty(mismatches);
    }

    [Fact]
    public void Encode_RandomText_EqualsReferenceIds()
    {
        const string alphabet = "aeiouAEIOU bcdxyzBCDXYZ 0123456789 .,;:!?'\"()[]{}-/\\@#%&*« éèêëÉÀÂçÇñÑøØåÅäöüßÄÖÜ日本 ";
        Gen<string> text = Gen.Elements(alphabet.ToCharArray()).ArrayOf().Select(c => new string(c));
        Prop.ForAll(text.ToArbitrary(), s => Assert.Equal(Theirs(s), Ours(s))).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Encode_LongText_TruncatesKeepingClsAndSep()
    {
        string text = ParitySentences.All[20];
        int[] full = Ours(text);
        BertEncoding truncated = _fixture.Tokenizer.Encode(text, maxLength: 10);
        Assert.Equal(10, truncated.Length);
        Assert.Equal(full.Take(9).Append(102), truncated.InputIds);
        Assert.All(truncated.TokenTypeIds, t => Assert.Equal(0, t));
    }

    [Fact]
    public void EncodePair_TwoSegments_MarksSecondWithTokenTypeOne()
    {
        BertEncoding pair = _fixture.Tokenizer.Encode("hello", "world");
        Assert.Equal([101, 7592, 102, 2088, 102], pair.InputIds);
        Assert.Equal([0, 0, 0, 1, 1], pair.TokenTypeIds);
        Assert.Equal(Reference().CreateTokenTypeIdsFromSequences([7592], [2088]), pair.TokenTypeIds);
    }

    [Fact]
    public void EncodeBatch_DifferentLengths_PadsRightWithMaskZero()
    {
        BertBatch batch = _fixture.Tokenizer.EncodeBatch(["hello world", "hi"]);
        using var ids = batch.InputIds();
        using var mask = batch.AttentionMask();
        Assert.Equal(new long[] { 2, 4 }, ids.shape);
        Assert.Equal(new long[] { 101, 7592, 2088, 102, 101, 7632, 102, 0 }, ids.data<long>().ToArray());
        Assert.Equal(new long[] { 1, 1, 1, 1, 1, 1, 1, 0 }, mask.data<long>().ToArray());
    }
}

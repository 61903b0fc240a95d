using FineTuning.Models.Tokenizers;
using Xunit;

namespace FineTuning.Core.Tests.Models.Tokenizers;

/// <summary>
/// WordPiece as BERT's tokenizer.json: BertNormalizer (lower-case, strip accents), BertPreTokenizer, "##" continuation.
/// Fixture vocab: [PAD] 0, [UNK] 1, [CLS] 2, [SEP] 3, [MASK] 4, hello 5, world 6, un 7, ##aff 8, ##able 9, "," 10,
/// "!" 11, cafe 12, ##s 13, a 14.
/// </summary>
public sealed class HfTokenizerWordPieceTests
{
    private static readonly HfTokenizer Tokenizer = TokenizerFixtures.Load(TokenizerFixtures.WordPiece);

    [Fact]
    public void Load_Fixture_TakesClsAndSepFromTemplate()
    {
        Assert.Equal("WordPiece", Tokenizer.ModelType);
        Assert.Equal(2, Tokenizer.BosId);
        Assert.Equal(3, Tokenizer.EosId);
        Assert.True(Tokenizer.AddBosByDefault);
    }

    [Theory]
    [InlineData("Hello, World!", new[] { 5, 10, 6, 11 })]
    // Greedy longest match: un, ##aff, ##able.
    [InlineData("unaffable", new[] { 7, 8, 9 })]
    // Lower-cased and accent-stripped before matching.
    [InlineData("CAFÉS café", new[] { 12, 13, 12 })]
    // A word whose rest cannot be matched is one [UNK] (not "un" + [UNK]).
    [InlineData("unx hello", new[] { 1, 5 })]
    [InlineData("\thello\n\u00A0world ", new[] { 5, 6 })]
    public void Encode_Text_GivesHandComputedIds(string text, int[] expected) =>
        Assert.Equal(expected, Tokenizer.Encode(text, addBos: false));

    [Fact]
    public void Encode_SpecialTokenInsideText_IsOneId() =>
        Assert.Equal(new[] { 2, 5, 3, 6 }, Tokenizer.Encode("hello [SEP] world", addBos: true));

    [Fact]
    public void Decode_JoinsContinuationsAndCleansPunctuation() =>
        Assert.Equal("unaffable, hello!", Tokenizer.Decode([2, 7, 8, 9, 10, 5, 11, 3]));
}

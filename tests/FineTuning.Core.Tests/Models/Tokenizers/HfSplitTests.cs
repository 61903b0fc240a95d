using System.Collections.Generic;
using System.Linq;
using System.Text.Json.Nodes;
using FineTuning.Models.Tokenizers;
using Xunit;

namespace FineTuning.Core.Tests.Models.Tokenizers;

/// <summary>The five split behaviors on the example of the tokenizers documentation (SplitDelimiterBehavior).</summary>
public sealed class HfSplitTests
{
    [Theory]
    [InlineData(SplitBehavior.Removed, new[] { "the", "final", "countdown" })]
    [InlineData(SplitBehavior.Isolated, new[] { "the", "-", "final", "-", "-", "countdown" })]
    [InlineData(SplitBehavior.MergedWithPrevious, new[] { "the-", "final-", "-", "countdown" })]
    [InlineData(SplitBehavior.MergedWithNext, new[] { "the", "-final", "-", "-countdown" })]
    [InlineData(SplitBehavior.Contiguous, new[] { "the", "-", "final", "--", "countdown" })]
    internal void SplitAt_DocumentationExample_MatchesHf(SplitBehavior behavior, string[] expected)
    {
        const string text = "the-final--countdown";
        var output = new List<HfPiece>();
        var matches = Enumerable.Range(0, text.Length).Where(i => text[i] == '-').Select(i => (i, 1));
        HfPreTokenizers.SplitAt(new HfPiece(text, AtStart: true), matches, behavior, invert: false, output);
        Assert.Equal(expected, output.Select(p => p.Text));
        Assert.True(output[0].AtStart);
        Assert.All(output.Skip(1), p => Assert.False(p.AtStart));
    }

    [Fact]
    public void Encode_MetaspaceSplit_KeepsARunOfSpacesApartFromTheWord()
    {
        // Metaspace(split: true) splits MergedWithNext: "▁hello" "▁" "▁world" (the pieces themselves are pinned by
        // SplitAt_DocumentationExample_MatchesHf; this checks the pre-tokenizer end to end).
        string json = TokenizerFixtures.Edited(TokenizerFixtures.SentencePiece, root =>
        {
            root["normalizer"] = null;
            root["pre_tokenizer"] = new JsonObject { ["type"] = "Metaspace", ["replacement"] = "▁", ["prepend_scheme"] = "always", ["split"] = true };
        });
        Assert.Equal(new[] { 271, 259, 276 }, HfTokenizer.Parse(json).Encode("hello  world", addBos: false));
    }
}

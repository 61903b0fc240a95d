using FineTuning.Data;
using FineTuning.Data.Templates;
using FineTuning.Testing;
using Xunit;

namespace FineTuning.Core.Tests.Data;

public sealed class DataValidatorTests
{
    // BOS, user text, "|", assistant text, EOS: an exchange has len(user) + len(assistant) + 3 byte tokens.
    private static readonly CustomChatTemplate Template = new() { UserPrefix = "", UserSuffix = "|", AssistantPrefix = "", AssistantSuffix = "" };

    private static readonly ChatExample[] Known =
    {
        ChatExample.Exchange("hi", "yo"),                 // 0: 7 tokens
        ChatExample.Exchange("hi", "yo"),                 // 1: exact duplicate of 0
        ChatExample.Exchange("hi  ", "yo"),               // 2: duplicate once whitespace is normalised; 9 tokens
        ChatExample.Exchange("abc", "   "),               // 3: empty response; 9 tokens
        new(new[] { new ChatMessage(ChatRole.User, "q") }), // 4: no answer: bad order, nothing to learn; 3 tokens
        new(new[] { new ChatMessage(ChatRole.Assistant, "a"), new ChatMessage(ChatRole.User, "b") }), // 5: bad order; 5 tokens
        ChatExample.Exchange("abcdefgh", "ijklmnop"),     // 6: 19 tokens, over max length 12 and context 16
        ChatExample.Exchange("x", "y"),                   // 7: 5 tokens
    };

    [Fact]
    public void Validate_KnownSmallDataset_ReportsHandCountedNumbers()
    {
        var labeler = new ChatLabeler(Template, new ByteTokenizer(), new LabelingOptions { MaxLength = 12 });
        DataValidationReport r = DataValidator.Validate(Known, labeler, contextLength: 16);

        Assert.Equal(8, r.Examples);
        Assert.Equal(15, r.Messages);
        // Sorted lengths 3 5 5 7 7 9 9 19: median (7+7)/2, p95 = nearest rank ceil(0.95 * 8) = 8th.
        Assert.Equal(new LengthDistribution(8, 3, 7, 19, 19), r.TokenLengths);
        // Learned: assistant text + EOS: 3 + 3 + 3 + 4 + 0 + 2 + 9 + 2.
        Assert.Equal(26, r.LearnedTokens);
        Assert.Equal(new[] { 6 }, r.OverMaxLength);
        Assert.Equal(new[] { 6 }, r.OverContext);
        Assert.Equal(new[] { 1 }, r.ExactDuplicates);
        Assert.Equal(new[] { 1, 2 }, r.WhitespaceDuplicates);
        Assert.Equal(new[] { 3 }, r.EmptyResponses);
        Assert.Equal(new[] { 4, 5 }, r.BadRoleOrder);
        Assert.Equal(new[] { 4 }, r.NothingToLearn);
        Assert.Empty(r.Unrenderable);
        Assert.False(r.IsClean);
        Assert.Equal(
            "examples: 8, messages: 15, learned tokens: 26\n" +
            "tokens per example: min 3, median 7, p95 19, max 19\n" +
            "over max length 12: 1 (examples 6)\n" +
            "over context 16: 1 (examples 6)\n" +
            "exact duplicates: 1 (examples 1)\n" +
            "whitespace-normalised duplicates: 2 (examples 1, 2)\n" +
            "empty responses: 1 (examples 3)\n" +
            "bad role order: 2 (examples 4, 5)\n" +
            "nothing to learn: 1 (examples 4)\n" +
            "unrenderable: 0\n",
            r.ToString());
    }

    [Fact]
    public void Validate_Llama2WithBadOrder_CountsUnrenderable()
    {
        DataValidationReport r = DataValidator.Validate(Known, new ChatLabeler(ChatTemplates.Llama2, new ByteTokenizer()));
        Assert.Equal(new[] { 5 }, System.Linq.Enumerable.Select(r.Unrenderable, u => u.Index));
        Assert.Equal(7, r.TokenLengths.Count);
    }

    [Fact]
    public void LengthDistribution_OddCountAndEmpty()
    {
        Assert.Equal(new LengthDistribution(3, 1, 2, 9, 9), LengthDistribution.Of(new[] { 9, 1, 2 }));
        Assert.Equal(new LengthDistribution(0, 0, 0, 0, 0), LengthDistribution.Of(System.Array.Empty<int>()));
    }
}

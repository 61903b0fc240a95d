using System.Collections.Generic;
using System.IO;
using System.Linq;
using FineTuning.Data;
using FineTuning.Data.Templates;
using FineTuning.Models;
using FineTuning.Models.Tokenizers;
using FineTuning.Testing;
using Xunit;

namespace FineTuning.Core.Tests.Data;

public sealed class ChatLabelerTests
{
    private static readonly ByteTokenizer Bytes = new();

    private static readonly ChatExample TwoTurns = new(new[]
    {
        new ChatMessage(ChatRole.User, "Hello"),
        new ChatMessage(ChatRole.Assistant, "Hi"),
        new ChatMessage(ChatRole.User, "Bye"),
        new ChatMessage(ChatRole.Assistant, "Ciao"),
    });

    private static string Learned(ITokenizer tokenizer, long[] ids, long[] labels) =>
        tokenizer.Decode(ids.Where((_, i) => labels[i] != TokenSequence.IgnoreIndex).Select(i => (int)i));

    [Fact]
    public void Tokenize_ChatMLWithSpecialIds_LearnsAssistantContentAndEndOfTurnOnly()
    {
        var options = new LabelingOptions { SpecialTokens = new Dictionary<string, int> { ["<|im_start|>"] = 300, ["<|im_end|>"] = 301 } };
        (long[] ids, long[] labels) = new ChatLabeler(ChatTemplates.ChatML, Bytes, options).Tokenize(TwoTurns);

        // Segment by segment: marker ids where mapped, text bytes otherwise; the concatenation is the whole rendering.
        var expected = new List<long>();
        foreach (TemplateSegment s in ChatTemplates.ChatML.Render(TwoTurns))
        {
            expected.AddRange(s.Kind == SegmentKind.SpecialToken ? new long[] { options.SpecialTokens[s.Text] } : Bytes.Encode(s.Text, false).Select(i => (long)i));
        }

        Assert.Equal(expected, ids);
        long[] learned = labels.Where(l => l != TokenSequence.IgnoreIndex).ToArray();
        Assert.Equal(Bytes.Encode("Hi", false).Select(i => (long)i).Append(301).Concat(Bytes.Encode("Ciao", false).Select(i => (long)i)).Append(301), learned);
        for (int i = 0; i < ids.Length; i++) Assert.True(labels[i] == TokenSequence.IgnoreIndex || labels[i] == ids[i]);
    }

    [Fact]
    public void Tokenize_LossScopes_SelectTheRightTurns()
    {
        var zephyr = ChatTemplates.Zephyr;
        (long[] ids, long[] labels) = new ChatLabeler(zephyr, Bytes, new LabelingOptions { Loss = LossScope.LastAssistantTurn }).Tokenize(TwoTurns);
        Assert.Equal("Ciao", Learned(Bytes, ids, labels));
        Assert.Equal(Bytes.EosId, labels.Last(l => l != TokenSequence.IgnoreIndex)); // the model learns to stop

        (ids, labels) = new ChatLabeler(zephyr, Bytes, new LabelingOptions { Loss = LossScope.AllTokens }).Tokenize(TwoTurns);
        Assert.Equal(ids, labels);

        var weighted = new ChatExample(TwoTurns.Messages.Select((m, i) => i == 1 ? m with { Weight = 0 } : m));
        (ids, labels) = new ChatLabeler(zephyr, Bytes).Tokenize(weighted);
        Assert.Equal("Ciao", Learned(Bytes, ids, labels));
        Assert.Equal(1, labels.Count(l => l == Bytes.EosId));
    }

    [Fact]
    public void Label_MaxLength_DropsOrTruncatesAndCounts()
    {
        var template = new CustomChatTemplate { UserPrefix = "", UserSuffix = "|", AssistantPrefix = "", AssistantSuffix = "" };
        var chats = new[]
        {
            ChatExample.Exchange("ab", "cd"),          // <s> a b | c d </s> = 7 tokens
            ChatExample.Exchange("abcdef", "gh"),      // 11 tokens
            ChatExample.Exchange("abcdefgh", "ij"),    // 13 tokens: truncated at 10 leaves no answer
            new ChatExample(new[] { new ChatMessage(ChatRole.User, "x") }),
        };

        LabelingResult drop = new ChatLabeler(template, Bytes, new LabelingOptions { MaxLength = 10 }).Label(chats);
        Assert.Equal(new[] { 7 }, drop.Sequences.Select(s => s.InputIds.Count));
        Assert.Equal(new[] { 1, 2, 3 }, drop.Dropped.Select(d => d.Index));
        Assert.Equal(0, drop.Truncated);
        Assert.Contains("longer than the maximum length 10", drop.Dropped[0].Reason, System.StringComparison.Ordinal);

        LabelingResult cut = new ChatLabeler(template, Bytes, new LabelingOptions { MaxLength = 10, Truncation = TruncationPolicy.Truncate }).Label(chats);
        Assert.Equal(new[] { 7, 10 }, cut.Sequences.Select(s => s.InputIds.Count));
        Assert.Equal(1, cut.Truncated);
        Assert.Equal(new[] { 2, 3 }, cut.Dropped.Select(d => d.Index));
        Assert.Equal("no learned token left after truncation", cut.Dropped[0].Reason);
        Assert.Equal("gh", Bytes.Decode(cut.Sequences[1].Labels.Where(l => l >= 0).Select(l => (int)l)));
        Assert.NotEqual(Bytes.EosId, cut.Sequences[1].Labels[^1]); // no EOS is invented at the cut
    }

    [Fact]
    public void TokenizePrompt_IsTheTrainingTokensUpToTheAnswer()
    {
        var labeler = new ChatLabeler(ChatTemplates.ChatML, Bytes);
        (long[] ids, _) = labeler.Tokenize(ChatExample.Exchange("Hello", "Hi"));
        IReadOnlyList<int> prompt = labeler.TokenizePrompt(new ChatExample(new[] { new ChatMessage(ChatRole.User, "Hello") }));
        Assert.Equal(ids.Take(prompt.Count).Select(i => (int)i), prompt);
        Assert.Equal("<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n", Bytes.Decode(prompt));
    }

    [Fact]
    public void LabelTexts_LearnsEverythingBetweenBosAndEos()
    {
        TokenSequence s = new ChatLabeler(ChatTemplates.ChatML, Bytes).LabelTexts(new[] { "ab" }).Sequences.Single();
        Assert.Equal(new long[] { 1, 100, 101, 2 }, s.InputIds);
        Assert.Equal(s.InputIds, s.Labels);
    }

    [SkippableFact]
    public void Tokenize_Stories260KTokenizer_OnlyFirstTextSegmentGetsTheDummyPrefix()
    {
        string dir = ModelFiles.Stories260K();
        Llama2CTokenizer tokenizer = Llama2CTokenizer.Load(Path.Combine(dir, "tok512.bin"));
        var template = new CustomChatTemplate { UserPrefix = "Q: ", UserSuffix = "\n", AssistantPrefix = "A: ", AssistantSuffix = "" };
        ChatExample chat = ChatExample.Exchange("Who is Lily?", "Lily is a girl.");
        (long[] ids, long[] labels) = new ChatLabeler(template, tokenizer).Tokenize(chat);

        Assert.Equal(1, ids[0]);
        Assert.Equal(2, ids[^1]);
        // Decoding drops the space after BOS (SentencePiece), so the segments read back as the rendered text.
        Assert.Equal("Q: Who is Lily?\nA: Lily is a girl.", tokenizer.Decode(ids.Select(i => (int)i)));
        Assert.Equal("Lily is a girl.", tokenizer.Decode(ids.Where((_, i) => labels[i] >= 0 && ids[i] != 2).Select(i => (int)i)));
        Assert.Equal(2, labels[^1]);
    }
}

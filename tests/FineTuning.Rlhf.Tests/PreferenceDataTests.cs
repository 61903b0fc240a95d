using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using FineTuning.Data;
using FineTuning.Models.Tokenizers;
using FineTuning.Rlhf.Data;
using Xunit;

namespace FineTuning.Rlhf.Tests;

public sealed class PreferenceDataTests
{
    private static List<T> Read<T>(string jsonl, IRecordFormat<T> format, ICollection<SkippedRecord>? skipped = null) =>
        DataReader.Read(new StringReader(jsonl), "prefs.jsonl", format,
            skipped is null ? MalformedRecordPolicy.Fail : MalformedRecordPolicy.SkipAndReport, skipped).ToList();

    [Fact]
    public void PromptChosenRejected_ReadsRecords_AndNamesLineAndFieldOfBadOnes()
    {
        List<TextPreference> good = Read("{\"prompt\": \"Hi\", \"chosen\": \" hello\", \"rejected\": \" go away\"}\n{\"chosen\": \"a\", \"rejected\": \"b\"}\n", PreferenceFormats.PromptChosenRejected);
        Assert.Equal(new[] { new TextPreference("Hi", " hello", " go away"), new TextPreference("", "a", "b") }, good);

        var ex = Assert.Throws<DataFormatException>(() => Read("{\"prompt\": \"a\", \"chosen\": \"b\", \"rejected\": \"c\"}\n{\"prompt\": \"a\", \"chosen\": 3, \"rejected\": \"c\"}\n", PreferenceFormats.PromptChosenRejected));
        Assert.Equal(2, ex.Line);
        Assert.Equal("chosen", ex.Field);
        Assert.Contains("prefs.jsonl", ex.Message, StringComparison.Ordinal);

        var skipped = new List<SkippedRecord>();
        Assert.Single(Read("{\"chosen\": \"b\", \"rejected\": \"c\"}\n{\"chosen\": [{\"role\": \"assistant\", \"content\": \"x\"}], \"rejected\": \"c\"}\n", PreferenceFormats.PromptChosenRejected, skipped));
        Assert.Single(skipped);
        Assert.Contains("not supported yet", skipped[0].Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void OpenAIPreference_ReadsConversationAndReplies_AndRejectsWrongRoles()
    {
        const string line = "{\"input\": {\"messages\": [{\"role\": \"user\", \"content\": \"Hello, can you tell me how cold San Francisco is today?\"}]}, " +
                            "\"preferred_output\": [{\"role\": \"assistant\", \"content\": \"Today in San Francisco, it is not quite cold as expected.\"}], " +
                            "\"non_preferred_output\": [{\"role\": \"assistant\", \"content\": \"It is not particularly cold in San Francisco today.\"}]}";
        ChatPreference p = Read(line + "\n", PreferenceFormats.OpenAIPreference).Single();
        Assert.Equal(ChatRole.User, p.Input.Messages.Single().Role);
        Assert.StartsWith("Today in San Francisco", p.Preferred, StringComparison.Ordinal);
        Assert.StartsWith("It is not particularly", p.NonPreferred, StringComparison.Ordinal);

        var ex = Assert.Throws<DataFormatException>(() => Read("\n" + line.Replace("\"role\": \"assistant\", \"content\": \"Today", "\"role\": \"user\", \"content\": \"Today", StringComparison.Ordinal) + "\n", PreferenceFormats.OpenAIPreference));
        Assert.Equal(2, ex.Line);
        Assert.Equal("preferred_output[0].role", ex.Field);
        var missing = Assert.Throws<DataFormatException>(() => Read("{\"preferred_output\": []}\n", PreferenceFormats.OpenAIPreference));
        Assert.Equal("input", missing.Field);
    }

    [Fact]
    public void ConversationalAndUnpairedFormats_Read_AndNameBadFields()
    {
        ChatPreference chat = Read("{\"prompt\": [{\"role\": \"user\", \"content\": \"What color is the sky?\"}], \"chosen\": [{\"role\": \"assistant\", \"content\": \"It is blue.\"}], \"rejected\": [{\"role\": \"assistant\", \"content\": \"It is green.\"}]}\n",
            PreferenceFormats.ConversationalPromptChosenRejected).Single();
        Assert.Equal("What color is the sky?", chat.Input.Messages.Single().Content);
        Assert.Equal(("It is blue.", "It is green."), (chat.Preferred, chat.NonPreferred));

        List<TextKtoExample> kto = Read("{\"prompt\": \"p\", \"completion\": \" a\", \"label\": true}\n{\"prompt\": \"p\", \"completion\": \" b\", \"label\": \"bad\"}\n", PreferenceFormats.Unpaired);
        Assert.Equal(new[] { new TextKtoExample("p", " a", true), new TextKtoExample("p", " b", false) }, kto);
        var ex = Assert.Throws<DataFormatException>(() => Read("{\"prompt\": \"p\", \"completion\": \"c\", \"label\": 3}\n", PreferenceFormats.Unpaired));
        Assert.Equal("label", ex.Field);
        KtoExample tokenized = PreferenceTokenization.ToKtoExample(new CharTokenizer(), kto[1]);
        Assert.Equal(new long[] { ' ' + 3, 'b' + 3, 2 }, tokenized.CompletionIds);
        Assert.False(tokenized.Desirable);
    }

    [Fact]
    public void Validator_CountsIdenticalEmptyDuplicateAndTooLong_OnAKnownSet()
    {
        var prefs = new[]
        {
            new TextPreference("p", "good", "bad"),
            new TextPreference("p", "same", "same"),
            new TextPreference("p", "", "bad"),
            new TextPreference("p", "good", "bad"),
            new TextPreference("a much longer prompt", "good", "bad"),
        };
        PreferenceValidationReport r = PreferenceValidator.Validate(prefs, s => s.Length, contextLength: 16);
        Assert.Equal(new[] { 1 }, r.IdenticalSides);
        Assert.Equal(new[] { 2 }, r.EmptySides);
        Assert.Equal(new[] { 3 }, r.Duplicates);
        Assert.Equal(new[] { 4 }, r.LongerThanContext);
        Assert.Equal((4, 5, 24), (r.MinTokens, r.MedianTokens, r.MaxTokens)); // lengths 1+4, 1+4, 1+3, 1+4, 20+4
        Assert.False(r.IsUsable);
        Assert.Contains("identical chosen and rejected: 1 (e.g. #1)", r.ToString(), StringComparison.Ordinal);
    }

    /// <summary>One token per character, so boundaries are easy to reason about; BOS 1, EOS 2, chars from 3.</summary>
    private sealed class CharTokenizer : ITokenizer
    {
        public int VocabSize => 256;

        public int BosId => 1;

        public int EosId => 2;

        public IReadOnlyList<int> Encode(string text, bool addBos) => (addBos ? new[] { 1 } : Array.Empty<int>()).Concat(text.Select(c => c + 3)).ToArray();

        public string Decode(IEnumerable<int> ids) => new(ids.Where(i => i > 2).Select(i => (char)(i - 3)).ToArray());
    }

    [Fact]
    public void ToPair_CutsCompletionsAfterThePrompt_AndAddsEos()
    {
        PreferencePair pair = PreferenceTokenization.ToPair(new CharTokenizer(), "ab", "c", "de");
        Assert.Equal(new long[] { 1, 'a' + 3, 'b' + 3 }, pair.PromptIds);
        Assert.Equal(new long[] { 'c' + 3, 2 }, pair.ChosenIds);
        Assert.Equal(new long[] { 'd' + 3, 'e' + 3, 2 }, pair.RejectedIds);
        Assert.Throws<PreferenceDataException>(() => PreferenceTokenization.ToPair(new CharTokenizer(), "ab", "c", "c"));
    }
}

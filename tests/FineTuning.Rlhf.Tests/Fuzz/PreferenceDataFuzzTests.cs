using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using FineTuning.Data;
using FineTuning.Rlhf.Data;
using FineTuning.Testing.Fuzz;
using Xunit;
using Xunit.Abstractions;

namespace FineTuning.Rlhf.Tests.Fuzz;

/// <summary>Seeded mutations of preference and KTO data (JSON Lines and JSON arrays) through <see cref="DataReader"/>.</summary>
public sealed class PreferenceDataFuzzTests(ITestOutputHelper output)
{
    private static readonly Dictionary<string, (string[] Records, Func<TextReader, int> Read)> Formats = new(StringComparer.Ordinal)
    {
        ["prompt-chosen-rejected"] = (
            ["""{"prompt": "Hi", "chosen": " hello", "rejected": " go away"}""", """{"chosen": "a", "rejected": "b"}"""],
            r => DataReader.Read(r, "prefs", PreferenceFormats.PromptChosenRejected).Count()),
        ["openai-preference"] = (
            ["""{"input": {"messages": [{"role": "user", "content": "Hi"}]}, "preferred_output": [{"role": "assistant", "content": "Hello"}], "non_preferred_output": [{"role": "assistant", "content": "Go"}]}"""],
            r => DataReader.Read(r, "prefs", PreferenceFormats.OpenAIPreference).Count()),
        ["conversational"] = (
            ["""{"prompt": [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "Hi"}], "chosen": [{"role": "assistant", "content": "Hello"}], "rejected": [{"role": "assistant", "content": "Go"}]}"""],
            r => DataReader.Read(r, "prefs", PreferenceFormats.ConversationalPromptChosenRejected).Count()),
        ["kto-unpaired"] = (
            ["""{"prompt": "2+2=", "completion": "4", "label": true}""", """{"prompt": "2+2=", "completion": "5", "label": "bad"}"""],
            r => DataReader.Read(r, "kto", PreferenceFormats.Unpaired).Count()),
    };

    public static TheoryData<string> FormatNames() => new(Formats.Keys);

    [Theory]
    [MemberData(nameof(FormatNames))]
    public void DataReaderRead_MutatedJsonLines_AcceptsOrThrowsDataFormatException(string format)
    {
        (string[] records, Func<TextReader, int> read) = Formats[format];
        FuzzOutcome outcome = FuzzRunner.Run(
            new FuzzSettings($"JSONL preference data ({format})", 51, 200, typeof(DataFormatException)),
            FuzzInputs.JsonLines(string.Join("\n", records)),
            bytes => read(new StringReader(Encoding.UTF8.GetString(bytes))));
        output.WriteLine(outcome.ToString());
    }

    [Theory]
    [MemberData(nameof(FormatNames))]
    public void DataReaderRead_MutatedJsonArray_AcceptsOrThrowsDataFormatException(string format)
    {
        (string[] records, Func<TextReader, int> read) = Formats[format];
        FuzzOutcome outcome = FuzzRunner.Run(
            new FuzzSettings($"JSON array preference data ({format})", 52, 200, typeof(DataFormatException)),
            FuzzInputs.Json("[\n" + string.Join(",\n", records) + "\n]"),
            bytes => read(new StringReader(Encoding.UTF8.GetString(bytes))));
        output.WriteLine(outcome.ToString());
    }

    [Fact]
    public void ConversationalRead_JsonArrayWithCommentInsidePrompt_ReadsTheRecord()
    {
        const string text = "[\n{\"prompt\": [{\"role\": \"user\", /* asked twice */ \"content\": \"Hi\"}], \"chosen\": [{\"role\": \"assistant\", \"content\": \"Hello\"}], \"rejected\": [{\"role\": \"assistant\", \"content\": \"Go\"}]}\n]";

        ChatPreference preference = Assert.Single(DataReader.Read(new StringReader(text), "prefs.json", PreferenceFormats.ConversationalPromptChosenRejected));

        Assert.Equal("Hi", Assert.Single(preference.Input.Messages).Content);
    }

    [Fact]
    public void ConversationalRead_BadPromptMessage_NamesThePromptField()
    {
        const string line = "{\"prompt\": [{\"role\": \"user\", \"content\": 3}], \"chosen\": [{\"role\": \"assistant\", \"content\": \"a\"}], \"rejected\": [{\"role\": \"assistant\", \"content\": \"b\"}]}";

        var e = Assert.Throws<DataFormatException>(() => DataReader.Read(new StringReader(line), "prefs.jsonl", PreferenceFormats.ConversationalPromptChosenRejected).ToList());

        Assert.Equal("prompt[0].content", e.Field);
    }

    [Fact]
    public void UnpairedRead_LabelWithLoneSurrogate_ThrowsDataFormatException()
    {
        const string line = "{\"prompt\": \"a\", \"completion\": \"b\", \"label\": \"\\ud800\"}";

        var e = Assert.Throws<DataFormatException>(() => DataReader.Read(new StringReader(line), "kto.jsonl", PreferenceFormats.Unpaired).ToList());

        Assert.Equal(("label", 1L), (e.Field, e.Line));
    }
}

using System.Collections.Generic;
using System.IO;
using System.Linq;
using FineTuning.Data;
using FsCheck.Xunit;
using Xunit;

namespace FineTuning.Core.Tests.Data;

public sealed class DataReaderTests
{
    private static List<T> Read<T>(string text, IRecordFormat<T> format, List<SkippedRecord>? skipped = null) =>
        DataReader.Read(new StringReader(text), "train.jsonl", format,
            skipped is null ? MalformedRecordPolicy.Fail : MalformedRecordPolicy.SkipAndReport, skipped).ToList();

    [Fact]
    public void Read_EachFormat_ParsesTypedRecords()
    {
        Assert.Equal("hi", Read("{\"text\":\"hi\"}", RecordFormats.Text).Single().Text);
        Assert.Equal(new PromptCompletionExample("p", "c"), Read("{\"prompt\":\"p\",\"completion\":\"c\"}", RecordFormats.PromptCompletion).Single());
        Assert.Equal(new AlpacaExample("i", "", "o"), Read("{\"instruction\":\"i\",\"output\":\"o\"}", RecordFormats.Alpaca).Single());

        ChatExample chat = Read("{\"messages\":[{\"role\":\"system\",\"content\":\"s\"},{\"role\":\"user\",\"content\":\"u\"},{\"role\":\"assistant\",\"content\":\"a\",\"weight\":0}]}", RecordFormats.OpenAIChat).Single();
        Assert.Equal(new[] { new ChatMessage(ChatRole.System, "s"), new ChatMessage(ChatRole.User, "u"), new ChatMessage(ChatRole.Assistant, "a", 0) }, chat.Messages);

        ChatExample share = Read("{\"conversations\":[{\"from\":\"human\",\"value\":\"u\"},{\"from\":\"gpt\",\"value\":\"a\"}]}", RecordFormats.ShareGpt).Single();
        Assert.Equal(new[] { new ChatMessage(ChatRole.User, "u"), new ChatMessage(ChatRole.Assistant, "a") }, share.Messages);
    }

    [Fact]
    public void Read_JsonArray_GivesRecordsWithTheirLines()
    {
        string text = "[\n  {\"text\": \"a\"},\n  {\"text\": \"b\"},\n  {\"txt\": \"c\"}\n]\n";
        var skipped = new List<SkippedRecord>();
        Assert.Equal(new[] { "a", "b" }, Read(text, RecordFormats.Text, skipped).Select(t => t.Text));
        Assert.Equal(new SkippedRecord("train.jsonl", 4, "text", "missing; expected a string"), Assert.Single(skipped));
    }

    [Fact]
    public void Read_BadRole_FailsNamingFileLineFieldAndExpectation()
    {
        string text = "{\"messages\":[{\"role\":\"user\",\"content\":\"u\"}]}\n\n{\"messages\":[{\"role\":\"user\",\"content\":\"u\"},{\"role\":\"bot\",\"content\":\"x\"}]}";
        var e = Assert.Throws<DataFormatException>(() => Read(text, RecordFormats.OpenAIChat));
        Assert.Equal(("train.jsonl", 3L, "messages[1].role"), (e.File, e.Line, e.Field));
        Assert.Equal("train.jsonl line 3, field \"messages[1].role\": expected one of system, user, assistant, got \"bot\"", e.Message);
    }

    [Fact]
    public void Read_SkipAndReport_ReturnsGoodRecordsAndEveryBadLineWithReason()
    {
        string text = string.Join("\n",
            "{\"prompt\":\"a\",\"completion\":\"b\"}",
            "{\"prompt\":\"a\",",
            "{\"prompt\":1,\"completion\":\"b\"}",
            "[1]".Replace("[1]", "\"just a string\"", System.StringComparison.Ordinal),
            "{\"prompt\":\"c\",\"completion\":\"d\"}");
        var skipped = new List<SkippedRecord>();
        var good = Read(text, RecordFormats.PromptCompletion, skipped);
        Assert.Equal(new[] { "a", "c" }, good.Select(g => g.Prompt));
        Assert.Equal(new long[] { 2, 3, 4 }, skipped.Select(s => s.Line));
        Assert.StartsWith("not valid JSON", skipped[0].Reason, System.StringComparison.Ordinal);
        Assert.Equal(("prompt", "expected a string, got a number"), (skipped[1].Field, skipped[1].Reason));
        Assert.Equal("expected a JSON object, got a string", skipped[2].Reason);
    }

    [Fact]
    public void Read_SkipWithoutList_IsRejected()
    {
        Assert.Throws<System.ArgumentException>(() => DataReader.Read(new StringReader(""), "x", RecordFormats.Text, MalformedRecordPolicy.SkipAndReport));
    }

    [Fact]
    public void Read_WeightOnUserOrNotZeroOne_IsAnError()
    {
        var skipped = new List<SkippedRecord>();
        Read("{\"messages\":[{\"role\":\"user\",\"content\":\"u\",\"weight\":1}]}\n{\"messages\":[{\"role\":\"assistant\",\"content\":\"a\",\"weight\":0.5}]}\n{\"messages\":[]}", RecordFormats.OpenAIChat, skipped);
        Assert.Equal(new[] { "messages[0].weight", "messages[0].weight", "messages" }, skipped.Select(s => s.Field));
    }

    [Fact]
    public void Read_BrokenJsonArray_AlwaysThrowsWithLine()
    {
        var e = Assert.Throws<DataFormatException>(() => Read("[\n{\"text\":\"a\"},\n{\"text\":}\n]", RecordFormats.Text, new List<SkippedRecord>()));
        Assert.Equal(3, e.Line);
    }

    [Fact]
    public void Read_File_NamesTheFile()
    {
        string path = Path.Combine(Path.GetTempPath(), $"ft-{System.Guid.NewGuid():N}.jsonl");
        File.WriteAllText(path, "{\"text\":\"a\"}\n{\"text\":null}\n");
        try
        {
            var e = Assert.Throws<DataFormatException>(() => DataReader.Read(path, RecordFormats.Text).ToList());
            Assert.Equal((Path.GetFileName(path), 2L), (e.File, e.Line));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Property(MaxTest = 300)]
    public bool Read_ArbitraryJsonFragments_OnlyEverThrowDataFormatException(string[] fragments)
    {
        // Built from JSON-ish pieces so that many inputs get past the syntax check into the field checks.
        string[] pieces = { "{", "}", "[", "]", ",", ":", "\"messages\"", "\"role\"", "\"user\"", "\"content\"", "\"x\"", "\n", "1", "null" };
        string text = string.Concat((fragments ?? System.Array.Empty<string>()).Select(f => pieces[(f?.Length ?? 0) % pieces.Length]));
        var skipped = new List<SkippedRecord>();
        try
        {
            int n = Read(text, RecordFormats.OpenAIChat, skipped).Count;
            return n + skipped.Count >= 0;
        }
        catch (DataFormatException)
        {
            return text.TrimStart().StartsWith('['); // only a broken JSON array throws under SkipAndReport
        }
    }
}

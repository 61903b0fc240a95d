using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using FineTuning.Data;

namespace FineTuning.Sft;

/// <summary>Reads an SFT file in any supported record format, detected from its first record when not named.</summary>
internal static class SftRecords
{
    /// <summary>The records as conversations (chat formats, prompt/completion, Alpaca) or as plain texts (<see cref="SftDataFormat.Text"/>).</summary>
    internal sealed record Contents(SftDataFormat Format, IReadOnlyList<ChatExample> Chats, IReadOnlyList<string> Texts, IReadOnlyList<SkippedRecord> Skipped);

    internal static Contents Read(string path, SftDataFormat format, MalformedRecordPolicy policy)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"The SFT data file {path} does not exist.", path);
        if (format == SftDataFormat.Auto) format = Detect(path);
        var skipped = new List<SkippedRecord>();
        IReadOnlyList<ChatExample> chats = format switch
        {
            SftDataFormat.Messages => DataReader.Read(path, RecordFormats.OpenAIChat, policy, skipped).ToList(),
            SftDataFormat.ShareGpt => DataReader.Read(path, RecordFormats.ShareGpt, policy, skipped).ToList(),
            SftDataFormat.PromptCompletion => DataReader.Read(path, RecordFormats.PromptCompletion, policy, skipped).Select(p => p.ToChat()).ToList(),
            SftDataFormat.Alpaca => DataReader.Read(path, RecordFormats.Alpaca, policy, skipped).Select(a => a.ToChat()).ToList(),
            _ => Array.Empty<ChatExample>(),
        };
        IReadOnlyList<string> texts = format == SftDataFormat.Text
            ? DataReader.Read(path, RecordFormats.Text, policy, skipped).Select(t => t.Text).ToList()
            : Array.Empty<string>();
        if (chats.Count + texts.Count == 0)
            throw new DataFormatException(Path.GetFileName(path), 1, null, skipped.Count == 0 ? "the file holds no records" : $"all {skipped.Count} records are malformed (first: {skipped[0]})");
        return new Contents(format, chats, texts, skipped);
    }

    /// <summary>TRL's dataset types by the first record's fields (the first non-blank line, or a JSON array's first element).</summary>
    internal static SftDataFormat Detect(string path)
    {
        (HashSet<string> Keys, RecordLocation Location)? first = DataReader.Read(path, new KeysFormat()).Cast<(HashSet<string>, RecordLocation)?>().FirstOrDefault();
        if (first is not { } record) throw new DataFormatException(Path.GetFileName(path), 1, null, "the file holds no records");
        HashSet<string> keys = record.Keys;
        if (keys.Contains("messages")) return SftDataFormat.Messages;
        if (keys.Contains("conversations")) return SftDataFormat.ShareGpt;
        if (keys.Contains("prompt") && keys.Contains("completion")) return SftDataFormat.PromptCompletion;
        if (keys.Contains("instruction") && keys.Contains("output")) return SftDataFormat.Alpaca;
        if (keys.Contains("text")) return SftDataFormat.Text;
        throw record.Location.Error(null,
            $"cannot tell the record format from the fields [{string.Join(", ", keys.OrderBy(k => k, StringComparer.Ordinal))}]: expected \"messages\" (chat), \"conversations\" (ShareGPT), " +
            "\"prompt\" + \"completion\", \"instruction\" + \"output\" (Alpaca) or \"text\"; or name the format with SftOptions.Format");
    }

    /// <summary>A record's field names, to detect its format.</summary>
    private sealed class KeysFormat : IRecordFormat<(HashSet<string> Keys, RecordLocation Location)>
    {
        public (HashSet<string> Keys, RecordLocation Location) Parse(JsonElement record, RecordLocation location)
        {
            JsonFields.RequireObject(record, location, null);
            return (record.EnumerateObject().Select(p => p.Name).ToHashSet(StringComparer.Ordinal), location);
        }
    }
}

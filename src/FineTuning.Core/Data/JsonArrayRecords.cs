using System;
using System.Collections.Generic;
using System.Text;
using System.Text.Json;
using FineTuning.Json;

namespace FineTuning.Data;

/// <summary>Records of a top-level JSON array, each with the line its value starts on.</summary>
internal static class JsonArrayRecords
{
    internal static IEnumerable<T> Read<T>(string text, long firstLine, string source, IRecordFormat<T> format, MalformedRecordPolicy policy, ICollection<SkippedRecord>? skipped)
    {
        byte[] utf8 = Encoding.UTF8.GetBytes(text);
        var records = new List<(long Line, JsonDocument? Doc, DataFormatException? Error)>();
        try
        {
            Split(utf8, firstLine, source, records);
            foreach ((long line, JsonDocument? doc, DataFormatException? error) in records)
            {
                var location = new RecordLocation(source, line);
                T? parsed = default;
                bool ok;
                try
                {
                    if (error is not null) throw error;
                    parsed = format.Parse(doc!.RootElement, location);
                    ok = true;
                }
                catch (DataFormatException e)
                {
                    ok = DataReader.Handle(e, policy, skipped);
                }

                if (ok) yield return parsed!;
            }
        }
        finally
        {
            foreach ((_, JsonDocument? doc, _) in records) doc?.Dispose();
        }
    }

    /// <summary>Comments are skipped between and inside records; each record is checked by <see cref="JsonInput"/> on its own,
    /// so a record with a lone surrogate or a duplicate key can be skipped like any other malformed record.</summary>
    private static readonly JsonLimits RecordLimits = new(JsonLimits.DefaultMaxDepth, AllowComments: true);

    private static void Split(byte[] utf8, long firstLine, string source, List<(long, JsonDocument?, DataFormatException?)> records)
    {
        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, MaxDepth = JsonLimits.DefaultMaxDepth + 2 });
        long line = firstLine;
        long counted = 0;
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray) throw new DataFormatException(source, firstLine, null, "expected a JSON array of records");
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                long start = reader.TokenStartIndex;
                for (long i = counted; i < start; i++)
                {
                    if (utf8[i] == (byte)'\n') line++;
                }

                counted = start;
                if (reader.CurrentDepth > JsonLimits.DefaultMaxDepth) throw new DataFormatException(source, line, null, $"nested deeper than {JsonLimits.DefaultMaxDepth} levels");
                if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray) reader.Skip();
                ReadOnlyMemory<byte> record = utf8.AsMemory((int)start, (int)(reader.BytesConsumed - start));
                try
                {
                    records.Add((line, JsonInput.Parse(record, JsonFields.Errors(source), RecordLimits, line), null));
                }
                catch (DataFormatException e)
                {
                    records.Add((line, null, e));
                }
            }

            if (reader.TokenType != JsonTokenType.EndArray) throw new DataFormatException(source, line, null, "the JSON array is not closed");
            if (reader.Read()) throw new DataFormatException(source, line, null, "unexpected content after the JSON array");
        }
        catch (JsonException e)
        {
            long at = e.LineNumber is long l ? firstLine + l : line;
            throw new DataFormatException(source, at, null, $"not valid JSON ({e.Message}); a JSON array cannot skip a broken record", e);
        }
    }
}

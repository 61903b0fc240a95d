using System;
using System.Buffers;
using System.Collections.Generic;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace FineTuning.Models.SafeTensors;

/// <summary>One tensor as it will appear in a header written by this library.</summary>
internal readonly record struct HeaderEntry(string Name, SafeTensorsDType DType, long[] Shape, long Begin, long End);

/// <summary>
/// Serializes a header as the reference implementation does: <c>__metadata__</c> first, then tensors in
/// the order given (offset order), compact JSON, padded with spaces so its length is a multiple of 8 and
/// the data buffer starts 8-byte aligned. Non-ASCII text is written as raw UTF-8 like the reference
/// (the relaxed encoder still escapes quotes, backslashes and control characters; no HTML context applies).
/// </summary>
internal static class SafeTensorsHeaderWriter
{
    internal const int Alignment = 8;

    internal static byte[] Build(IReadOnlyList<HeaderEntry> entries, IReadOnlyDictionary<string, string>? metadata)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = false, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject(SafeTensorsHeaderParser.MetadataKey);
                var keys = new List<string>(metadata.Keys);
                keys.Sort(StringComparer.Ordinal);
                foreach (string key in keys) json.WriteString(key, metadata[key]);
                json.WriteEndObject();
            }

            foreach (HeaderEntry entry in entries)
            {
                json.WriteStartObject(entry.Name);
                json.WriteString("dtype", SafeTensorsDTypes.HeaderName(entry.DType));
                json.WriteStartArray("shape");
                foreach (long dim in entry.Shape) json.WriteNumberValue(dim);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(entry.Begin);
                json.WriteNumberValue(entry.End);
                json.WriteEndArray();
                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        int padded = (buffer.WrittenCount + Alignment - 1) / Alignment * Alignment;
        byte[] header = new byte[padded];
        buffer.WrittenSpan.CopyTo(header);
        header.AsSpan(buffer.WrittenCount).Fill((byte)' ');
        return header;
    }
}

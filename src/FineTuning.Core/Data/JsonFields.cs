using System.Text.Json;
using FineTuning.Json;

namespace FineTuning.Data;

/// <summary>
/// Field access for data records: <see cref="JsonFieldReader"/> with errors that are <see cref="DataFormatException"/>s
/// naming the record's file and line.
/// </summary>
internal static class JsonFields
{
    /// <summary>A field reader whose errors locate the record at <paramref name="at"/>.</summary>
    internal static JsonFieldReader Reader(RecordLocation at) => new((field, _, problem) => at.Error(field, problem), at.Line);

    /// <summary>The error factory for whole data files (line given by the parser, counted from 1).</summary>
    internal static JsonErrorFactory Errors(string source) => (field, line, problem) => new DataFormatException(source, line, field, problem);

    internal static void RequireObject(JsonElement element, RecordLocation at, string? path) => Reader(at).RequireObject(element, path);

    internal static string String(JsonElement record, string name, RecordLocation at, string? prefix = null, bool optional = false)
    {
        JsonFieldReader reader = Reader(at);
        return optional ? reader.OptionalString(record, prefix, name) ?? string.Empty : reader.RequiredString(record, prefix, name);
    }

    internal static JsonElement Array(JsonElement record, string name, RecordLocation at)
    {
        JsonFieldReader reader = Reader(at);
        JsonElement value = reader.Required(record, null, name, "an array of messages");
        if (value.ValueKind != JsonValueKind.Array) throw at.Error(name, $"expected an array, got {JsonFieldReader.Kind(value.ValueKind)}");
        if (value.GetArrayLength() == 0) throw at.Error(name, "expected at least one message, got an empty array");
        return value;
    }
}

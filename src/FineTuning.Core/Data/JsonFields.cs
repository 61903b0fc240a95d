using System.Text.Json;

namespace FineTuning.Data;

/// <summary>Field access that reports what was expected, where.</summary>
internal static class JsonFields
{
    internal static string Kind(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "nothing",
    };

    internal static void RequireObject(JsonElement element, RecordLocation at, string? path)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw at.Error(path, $"expected a JSON object, got {Kind(element.ValueKind)}");
        }
    }

    internal static string String(JsonElement record, string name, RecordLocation at, string? prefix = null, bool optional = false)
    {
        string path = prefix is null ? name : $"{prefix}.{name}";
        if (!record.TryGetProperty(name, out JsonElement value))
        {
            if (optional) return string.Empty;
            throw at.Error(path, "missing; expected a string");
        }

        if (optional && value.ValueKind == JsonValueKind.Null) return string.Empty;
        if (value.ValueKind != JsonValueKind.String) throw at.Error(path, $"expected a string, got {Kind(value.ValueKind)}");
        return value.GetString()!;
    }

    internal static JsonElement Array(JsonElement record, string name, RecordLocation at)
    {
        if (!record.TryGetProperty(name, out JsonElement value)) throw at.Error(name, "missing; expected an array of messages");
        if (value.ValueKind != JsonValueKind.Array) throw at.Error(name, $"expected an array, got {Kind(value.ValueKind)}");
        if (value.GetArrayLength() == 0) throw at.Error(name, "expected at least one message, got an empty array");
        return value;
    }
}

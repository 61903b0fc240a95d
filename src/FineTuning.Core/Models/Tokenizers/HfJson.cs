using System;
using System.Collections.Generic;
using System.Text.Json;

namespace FineTuning.Models.Tokenizers;

/// <summary>
/// Typed access to one JSON file of a Hugging Face tokenizer; every failure is a <see cref="ModelFileException"/>
/// naming the file and the JSON path of the field (<c>model.merges[3]</c>).
/// </summary>
internal sealed class HfJson
{
    internal HfJson(string fileName) => FileName = fileName;

    internal string FileName { get; }

    internal static JsonDocument Parse(string text, string fileName)
    {
        try
        {
            return JsonDocument.Parse(text, new JsonDocumentOptions { AllowTrailingCommas = true, MaxDepth = 256 });
        }
        catch (JsonException e)
        {
            throw new ModelFileException(fileName, $"not valid JSON ({e.Message}).", e);
        }
    }

    internal ModelFileException Error(string field, string problem) =>
        new(FileName, $"field '{field}': {problem}", null);

    internal JsonElement Required(JsonElement parent, string parentPath, string name)
    {
        string path = Join(parentPath, name);
        if (parent.ValueKind != JsonValueKind.Object) throw Error(parentPath, $"expected an object, found {parent.ValueKind}.");
        if (!parent.TryGetProperty(name, out JsonElement value)) throw Error(path, "missing.");
        return value;
    }

    /// <summary>The property, or null when it is absent or JSON null.</summary>
    internal static JsonElement? Optional(JsonElement parent, string name) =>
        parent.ValueKind == JsonValueKind.Object && parent.TryGetProperty(name, out JsonElement value) && value.ValueKind != JsonValueKind.Null
            ? value
            : null;

    internal string RequiredString(JsonElement parent, string parentPath, string name) =>
        AsString(Required(parent, parentPath, name), Join(parentPath, name));

    internal string? OptionalString(JsonElement parent, string parentPath, string name) =>
        Optional(parent, name) is { } value ? AsString(value, Join(parentPath, name)) : null;

    internal bool OptionalBool(JsonElement parent, string parentPath, string name, bool fallback)
    {
        if (Optional(parent, name) is not { } value) return fallback;
        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Error(Join(parentPath, name), $"expected true or false, found {value.ValueKind}."),
        };
    }

    internal int RequiredInt(JsonElement parent, string parentPath, string name) =>
        AsInt(Required(parent, parentPath, name), Join(parentPath, name));

    internal int OptionalInt(JsonElement parent, string parentPath, string name, int fallback) =>
        Optional(parent, name) is { } value ? AsInt(value, Join(parentPath, name)) : fallback;

    internal string AsString(JsonElement value, string path) =>
        value.ValueKind == JsonValueKind.String ? value.GetString()! : throw Error(path, $"expected a string, found {value.ValueKind}.");

    internal int AsInt(JsonElement value, string path) =>
        value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out int result)
            ? result
            : throw Error(path, $"expected a 32-bit integer, found {value.ValueKind} {Shorten(value.GetRawText())}.");

    internal IEnumerable<(JsonElement Item, string Path)> Array(JsonElement value, string path)
    {
        if (value.ValueKind != JsonValueKind.Array) throw Error(path, $"expected an array, found {value.ValueKind}.");
        int i = 0;
        foreach (JsonElement item in value.EnumerateArray())
        {
            yield return (item, $"{path}[{i}]");
            i++;
        }
    }

    internal IEnumerable<JsonProperty> Object(JsonElement value, string path) =>
        value.ValueKind == JsonValueKind.Object ? value.EnumerateObject() : throw Error(path, $"expected an object, found {value.ValueKind}.");

    internal static string Join(string parent, string name) => parent.Length == 0 ? name : parent + "." + name;

    private static string Shorten(string raw) => raw.Length <= 40 ? raw : string.Concat(raw.AsSpan(0, 40), "...");
}

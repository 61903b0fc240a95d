using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text.Json;

namespace FineTuning.Json;

/// <summary>
/// Typed access to the fields of a document parsed by <see cref="JsonInput"/>: every wrong kind, missing field,
/// null where a value is needed, or number out of range becomes the reader's own exception (made by its
/// <see cref="JsonErrorFactory"/>) naming the field's JSON path (<c>model.merges[3]</c>, <c>messages[1].role</c>).
/// </summary>
internal sealed class JsonFieldReader
{
    private readonly JsonErrorFactory error;
    private readonly long line;

    /// <summary>Creates a reader whose errors are made by <paramref name="error"/>, located at <paramref name="line"/> (0 = unknown).</summary>
    internal JsonFieldReader(JsonErrorFactory error, long line = 0)
    {
        this.error = error;
        this.line = line;
    }

    /// <summary>The typed exception for <paramref name="problem"/> at <paramref name="field"/> (not thrown).</summary>
    internal Exception Error(string? field, string problem) => error(field, line, problem);

    /// <summary>Human words for a JSON kind: "an object", "null", ...</summary>
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

    /// <summary><c>parent.name</c>, or <c>name</c> at the root.</summary>
    internal static string Join(string? parent, string name) => string.IsNullOrEmpty(parent) ? name : parent + "." + name;

    /// <summary>The property, or null when it is absent or JSON null (or the parent is not an object).</summary>
    internal static JsonElement? Optional(JsonElement parent, string name) =>
        parent.ValueKind == JsonValueKind.Object && parent.TryGetProperty(name, out JsonElement value) && value.ValueKind != JsonValueKind.Null
            ? value
            : null;

    /// <summary>Requires <paramref name="value"/> to be an object.</summary>
    internal JsonElement RequireObject(JsonElement value, string? path) =>
        value.ValueKind == JsonValueKind.Object ? value : throw Error(path, $"expected a JSON object, got {Kind(value.ValueKind)}");

    /// <summary>The property <paramref name="name"/> of the object <paramref name="parent"/>; missing or null is an error.</summary>
    internal JsonElement Required(JsonElement parent, string? parentPath, string name, string expected = "a value")
    {
        RequireObject(parent, parentPath);
        string path = Join(parentPath, name);
        if (!parent.TryGetProperty(name, out JsonElement value)) throw Error(path, $"missing; expected {expected}");
        if (value.ValueKind == JsonValueKind.Null) throw Error(path, $"expected {expected}, got null");
        return value;
    }

    /// <summary>A required string field.</summary>
    internal string RequiredString(JsonElement parent, string? parentPath, string name) =>
        AsString(Required(parent, parentPath, name, "a string"), Join(parentPath, name));

    /// <summary>A string field, or null when absent or JSON null.</summary>
    internal string? OptionalString(JsonElement parent, string? parentPath, string name) =>
        Optional(parent, name) is { } value ? AsString(value, Join(parentPath, name)) : null;

    /// <summary>A boolean field, or <paramref name="fallback"/> when absent or JSON null.</summary>
    internal bool OptionalBool(JsonElement parent, string? parentPath, string name, bool fallback) =>
        Optional(parent, name) is { } value ? AsBool(value, Join(parentPath, name)) : fallback;

    /// <summary>A required integer field within [<paramref name="min"/>, <paramref name="max"/>].</summary>
    internal int RequiredInt(JsonElement parent, string? parentPath, string name, int min = int.MinValue, int max = int.MaxValue) =>
        AsInt(Required(parent, parentPath, name, "an integer"), Join(parentPath, name), min, max);

    /// <summary>An integer field within [<paramref name="min"/>, <paramref name="max"/>], or <paramref name="fallback"/>.</summary>
    internal int OptionalInt(JsonElement parent, string? parentPath, string name, int fallback, int min = int.MinValue, int max = int.MaxValue) =>
        Optional(parent, name) is { } value ? AsInt(value, Join(parentPath, name), min, max) : fallback;

    /// <summary>A finite number field within [<paramref name="min"/>, <paramref name="max"/>], or <paramref name="fallback"/>.</summary>
    internal double OptionalDouble(JsonElement parent, string? parentPath, string name, double fallback, double min = double.MinValue, double max = double.MaxValue) =>
        Optional(parent, name) is { } value ? AsDouble(value, Join(parentPath, name), min, max) : fallback;

    /// <summary>The string value.</summary>
    internal string AsString(JsonElement value, string path) =>
        value.ValueKind == JsonValueKind.String ? value.GetString()! : throw Error(path, $"expected a string, got {Kind(value.ValueKind)}");

    /// <summary>The boolean value.</summary>
    internal bool AsBool(JsonElement value, string path) => value.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => throw Error(path, $"expected true or false, got {Describe(value)}"),
    };

    /// <summary>An integer within [<paramref name="min"/>, <paramref name="max"/>] (a fraction or an overflowing number is refused).</summary>
    internal int AsInt(JsonElement value, string path, int min = int.MinValue, int max = int.MaxValue)
    {
        long result = AsLong(value, path, min, max);
        return (int)result;
    }

    /// <summary>An integer within [<paramref name="min"/>, <paramref name="max"/>].</summary>
    internal long AsLong(JsonElement value, string path, long min = long.MinValue, long max = long.MaxValue)
    {
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out long result))
        {
            throw Error(path, $"expected an integer in [{min}, {max}], got {Describe(value)}");
        }

        return result >= min && result <= max ? result : throw Error(path, $"expected an integer in [{min}, {max}], got {result}");
    }

    /// <summary>A finite number within [<paramref name="min"/>, <paramref name="max"/>].</summary>
    internal double AsDouble(JsonElement value, string path, double min = double.MinValue, double max = double.MaxValue)
    {
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out double result) || !double.IsFinite(result))
        {
            throw Error(path, $"expected a finite number, got {Describe(value)}");
        }

        return result >= min && result <= max
            ? result
            : throw Error(path, $"expected a number in [{min.ToString("R", CultureInfo.InvariantCulture)}, {max.ToString("R", CultureInfo.InvariantCulture)}], got {result.ToString("R", CultureInfo.InvariantCulture)}");
    }

    /// <summary>The items of an array with their paths (<c>path[i]</c>).</summary>
    internal IEnumerable<(JsonElement Item, string Path)> Array(JsonElement value, string path)
    {
        if (value.ValueKind != JsonValueKind.Array) throw Error(path, $"expected an array, got {Kind(value.ValueKind)}");
        return Items(value, path);
    }

    /// <summary>An array whose items are all strings.</summary>
    internal IReadOnlyList<string> StringArray(JsonElement value, string path)
    {
        var result = new List<string>();
        foreach ((JsonElement item, string itemPath) in Array(value, path)) result.Add(AsString(item, itemPath));
        return result;
    }

    /// <summary>The properties of an object.</summary>
    internal JsonElement.ObjectEnumerator Properties(JsonElement value, string? path) => RequireObject(value, path).EnumerateObject();

    /// <summary>The kind and (for short scalars) the raw text of a value, for messages.</summary>
    internal static string Describe(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Number or JsonValueKind.String => $"{Kind(value.ValueKind)} {Shorten(value.GetRawText())}",
        _ => Kind(value.ValueKind),
    };

    private static IEnumerable<(JsonElement Item, string Path)> Items(JsonElement value, string path)
    {
        int i = 0;
        foreach (JsonElement item in value.EnumerateArray())
        {
            yield return (item, $"{path}[{i}]");
            i++;
        }
    }

    private static string Shorten(string raw) => raw.Length <= 40 ? raw : string.Concat(raw.AsSpan(0, 40), "...");
}

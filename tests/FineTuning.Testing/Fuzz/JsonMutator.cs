using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Text.Json.Nodes;

namespace FineTuning.Testing.Fuzz;

/// <summary>
/// Mutations of JSON text that keep it (mostly) JSON, so they reach the readers' field logic: a value swapped for
/// another kind or null, a key duplicated or removed, huge or fractional numbers, deep nesting, lone surrogate
/// escapes, comments; one in ten inputs gets a raw byte mutation instead. What JsonNode cannot hold (duplicate keys,
/// invalid escapes, 1e400) is written through sentinels replaced in the serialized text.
/// </summary>
public static class JsonMutator
{
    private static readonly string[] Numbers =
    [
        "1e308", "1e400", "-1e400", "-1", "0", "0.5", "-0.0", "2147483647", "2147483648", "-2147483649", "2147483646",
        "300000000", "9223372036854775807", "9223372036854775808", "1e-400", "3.4028236e38",
    ];

    private static readonly string[] Strings = ["\"\\ud800\"", "\"a\\udc00b\"", "\"\\udfff\\ud800\"", "\"\"", "\"\\u0000\"", "\"x\""];

    /// <summary>One to three mutations of <paramref name="seedJson"/>; <paramref name="what"/> lists them.</summary>
    /// <param name="seedJson">A valid JSON text.</param>
    /// <param name="random">The generator.</param>
    /// <param name="what">What was done, for the reproducer.</param>
    /// <returns>The mutated text as UTF-8.</returns>
    public static byte[] Mutate(string seedJson, Random random, out string what)
    {
        ArgumentNullException.ThrowIfNull(seedJson);
        ArgumentNullException.ThrowIfNull(random);
        if (random.Next(10) == 0) return ByteMutator.Mutate(Encoding.UTF8.GetBytes(seedJson), random, out what);
        JsonNode? root = JsonNode.Parse(seedJson);
        var raw = new List<string>();
        var done = new List<string>();
        int count = 1 + random.Next(3);
        for (int i = 0; i < count; i++) root = MutateOnce(root, random, raw, done);
        string text = root?.ToJsonString() ?? "null";
        for (int i = 0; i < raw.Count; i++)
        {
            text = text.Replace($"\"{Sentinel(i)}\":0", raw[i], StringComparison.Ordinal).Replace($"\"{Sentinel(i)}\"", raw[i], StringComparison.Ordinal);
        }

        what = string.Join("; ", done);
        return Encoding.UTF8.GetBytes(text);
    }

    private static string Sentinel(int i) => $"@@fuzz{i.ToString(CultureInfo.InvariantCulture)}@@";

    private static JsonNode? MutateOnce(JsonNode? root, Random random, List<string> raw, List<string> done)
    {
        List<(JsonNode? Node, JsonNode? Parent, string? Key, int Index, string Path)> places = new();
        Collect(root, null, null, -1, "$", places);
        var (node, parent, key, index, path) = places[random.Next(places.Count)];

        JsonNode? Raw(string text)
        {
            raw.Add(text);
            return JsonValue.Create(Sentinel(raw.Count - 1));
        }

        JsonNode? replacement;
        switch (random.Next(9))
        {
            case 0:
                replacement = null;
                done.Add($"{path} = null");
                break;
            case 1:
                replacement = random.Next(4) switch { 0 => new JsonArray(), 1 => new JsonObject(), 2 => JsonValue.Create("x"), _ => JsonValue.Create(true) };
                done.Add($"{path} kind swapped to {replacement.GetValueKind()}");
                break;
            case 2:
            {
                string number = Numbers[random.Next(Numbers.Length)];
                replacement = Raw(number);
                done.Add($"{path} = {number}");
                break;
            }

            case 3:
            {
                string s = Strings[random.Next(Strings.Length)];
                replacement = Raw(s);
                done.Add($"{path} = {s}");
                break;
            }

            case 4:
            {
                int depth = random.Next(2) == 0 ? 65 + random.Next(40) : 1000 + random.Next(4000);
                replacement = Raw(new string('[', depth) + new string(']', depth));
                done.Add($"{path} nested {depth} deep");
                break;
            }

            case 5 when node is JsonObject o && o.Count > 0:
            {
                var (k, v) = o.ElementAt(random.Next(o.Count));
                raw.Add($"\"{Escape(k)}\":{v?.ToJsonString() ?? "null"}");
                o[Sentinel(raw.Count - 1)] = 0;
                done.Add($"{path}.{k} duplicated");
                return root;
            }

            case 6 when parent is JsonObject po:
                po.Remove(key!);
                done.Add($"{path} removed");
                return root;
            case 7 when parent is JsonArray pa:
                pa.Add(node?.DeepClone());
                done.Add($"{path} appended again to its array");
                return root;
            case 8 when node is JsonValue v && v.GetValueKind() == System.Text.Json.JsonValueKind.String:
            {
                string s = v.GetValue<string>();
                replacement = Raw("/* comment */ \"" + Escape(s) + "\"");
                done.Add($"{path} preceded by a comment");
                break;
            }

            default:
                replacement = Raw("\"\\ud83d\"");
                done.Add($"{path} = lone high surrogate");
                break;
        }

        if (parent is JsonObject obj) obj[key!] = replacement;
        else if (parent is JsonArray arr) arr[index] = replacement;
        else return replacement;
        return root;
    }

    private static void Collect(JsonNode? node, JsonNode? parent, string? key, int index, string path, List<(JsonNode?, JsonNode?, string?, int, string)> places)
    {
        places.Add((node, parent, key, index, path));
        if (places.Count > 4096) return;
        switch (node)
        {
            case JsonObject o:
                foreach (var (k, v) in o.ToList()) Collect(v, o, k, -1, $"{path}.{k}", places);
                break;
            case JsonArray a:
                // Long arrays (vocabularies, merges) are sampled, not walked whole.
                for (int i = 0; i < a.Count; i += Math.Max(1, a.Count / 64)) Collect(a[i], a, null, i, $"{path}[{i}]", places);
                break;
        }
    }

    private static string Escape(string s) => System.Text.Json.JsonEncodedText.Encode(s, System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping).ToString();
}

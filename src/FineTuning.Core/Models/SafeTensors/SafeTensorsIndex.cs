using System;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.Text.Encodings.Web;
using System.IO;
using System.Text.Json;
using System.Text.Unicode;

namespace FineTuning.Models.SafeTensors;

/// <summary>
/// The index of a sharded checkpoint (<c>model.safetensors.index.json</c>, as written by Hugging Face
/// transformers): <c>{"metadata": {...}, "weight_map": {"tensor": "shard file name"}}</c>.
/// </summary>
internal sealed class SafeTensorsIndex
{
    internal const string TotalSizeKey = "total_size";

    private static readonly JsonDocumentOptions JsonOptions = new() { MaxDepth = 16 };

    private SafeTensorsIndex(Dictionary<string, string> metadata, SortedDictionary<string, string> weightMap)
    {
        Metadata = new ReadOnlyDictionary<string, string>(metadata);
        WeightMap = new ReadOnlyDictionary<string, string>(weightMap);
    }

    /// <summary>String values as they are; other JSON values (e.g. the number <c>total_size</c>) as their JSON text.</summary>
    internal IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Tensor name to shard file name (a plain file name in the index's folder), in ordinal name order.</summary>
    internal IReadOnlyDictionary<string, string> WeightMap { get; }

    internal static void Write(Stream stream, long totalSize, IReadOnlyDictionary<string, string>? metadata, SortedDictionary<string, string> weightMap)
    {
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        json.WriteStartObject();
        json.WriteStartObject("metadata");
        var keys = new List<string>(metadata?.Keys ?? []) { TotalSizeKey };
        keys.Sort(StringComparer.Ordinal);
        foreach (string key in keys)
        {
            if (key == TotalSizeKey) json.WriteNumber(key, totalSize);
            else json.WriteString(key, metadata![key]);
        }

        json.WriteEndObject();
        json.WriteStartObject("weight_map");
        foreach ((string name, string file) in weightMap) json.WriteString(name, file);
        json.WriteEndObject();
        json.WriteEndObject();
    }

    internal static SafeTensorsIndex Read(string path)
    {
        var file = new FileInfo(path);
        if (!file.Exists) throw new FileNotFoundException($"The sharded checkpoint index '{path}' does not exist.", path);
        if (file.Length > SafeTensorsHeaderParser.MaxHeaderBytes)
        {
            throw new SafeTensorsFormatException(path, null, $"the index is {file.Length} bytes, more than the limit of {SafeTensorsHeaderParser.MaxHeaderBytes}.");
        }

        byte[] bytes = File.ReadAllBytes(path);
        if (!Utf8.IsValid(bytes)) throw new SafeTensorsFormatException(path, null, "the index is not valid UTF-8.");
        try
        {
            using JsonDocument document = JsonDocument.Parse(bytes, JsonOptions);
            return FromJson(document.RootElement, path);
        }
        catch (JsonException e)
        {
            throw new SafeTensorsFormatException(path, null, $"the index is not valid JSON: {e.Message}", e);
        }
        catch (InvalidOperationException e)
        {
            // Escapes that decode to invalid UTF-16 (lone surrogates) surface from JsonElement.GetString as this.
            throw new SafeTensorsFormatException(path, null, $"the index holds an invalid string: {e.Message}", e);
        }
    }

    private static SafeTensorsIndex FromJson(JsonElement root, string path)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new SafeTensorsFormatException(path, null, $"the index is a JSON {root.ValueKind}, not an object.");
        }

        JsonElement? metadataElement = null, weightMapElement = null;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (JsonProperty property in root.EnumerateObject())
        {
            if (!seen.Add(property.Name)) throw new SafeTensorsFormatException(path, null, $"the key '{property.Name}' appears more than once.");
            if (property.Name == "metadata") metadataElement = property.Value;
            else if (property.Name == "weight_map") weightMapElement = property.Value;
        }

        if (weightMapElement is not { ValueKind: JsonValueKind.Object } weightMapObject)
        {
            throw new SafeTensorsFormatException(path, null, "the index has no 'weight_map' object.");
        }

        var weightMap = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (JsonProperty entry in weightMapObject.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.String)
            {
                throw new SafeTensorsFormatException(path, entry.Name, $"weight_map value is a JSON {entry.Value.ValueKind}, not a file name.");
            }

            string shard = entry.Value.GetString()!;
            if (!IsPlainFileName(shard))
            {
                throw new SafeTensorsFormatException(path, entry.Name, $"shard '{shard}' is not a plain file name in the index's folder.");
            }

            if (!weightMap.TryAdd(entry.Name, shard))
            {
                throw new SafeTensorsFormatException(path, entry.Name, "the name appears more than once in weight_map.");
            }
        }

        return new SafeTensorsIndex(ParseMetadata(metadataElement, path), weightMap);
    }

    private static Dictionary<string, string> ParseMetadata(JsonElement? element, string path)
    {
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        if (element is null || element.Value.ValueKind == JsonValueKind.Null) return metadata;
        if (element.Value.ValueKind != JsonValueKind.Object)
        {
            throw new SafeTensorsFormatException(path, null, $"'metadata' is a JSON {element.Value.ValueKind}, not an object.");
        }

        foreach (JsonProperty entry in element.Value.EnumerateObject())
        {
            string value = entry.Value.ValueKind == JsonValueKind.String ? entry.Value.GetString()! : entry.Value.GetRawText();
            if (!metadata.TryAdd(entry.Name, value))
            {
                throw new SafeTensorsFormatException(path, null, $"'metadata' key '{entry.Name}' appears more than once.");
            }
        }

        return metadata;
    }

    /// <summary>Shard names come from untrusted input: refuse anything that could point outside the folder.</summary>
    private static bool IsPlainFileName(string name) =>
        name.Length > 0 && name != "." && name != ".." && name.IndexOfAny(['/', '\\']) < 0
        && name.AsSpan().IndexOfAny(Path.GetInvalidFileNameChars()) < 0;
}

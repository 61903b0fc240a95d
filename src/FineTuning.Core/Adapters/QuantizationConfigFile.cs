using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;
using FineTuning.Json;
using FineTuning.Models;

namespace FineTuning.Adapters;

/// <summary>
/// <c>quantization_config.json</c>: how a model's base layers were quantized, written next to files that depend on it
/// (a LoRA adapter trained over a quantized base). One JSON object: the shared settings (an
/// <see cref="IQuantizedModule.QuantizationConfig"/> object) plus <c>quantized_modules</c>, the full module paths of
/// the quantized modules (linear layers, and a quantized token embedding) in the plain (un-adapted) model. PEFT ignores the file.
/// </summary>
public static class QuantizationConfigFile
{
    /// <summary>The file name.</summary>
    public const string FileName = "quantization_config.json";

    /// <summary>The key listing the quantized modules.</summary>
    public const string ModulesKey = "quantized_modules";

    /// <summary>Writes <paramref name="config"/> (not changed) plus the sorted module list to <paramref name="path"/>, replacing it atomically.</summary>
    /// <exception cref="ArgumentException">The module list is empty or <paramref name="config"/> already has <see cref="ModulesKey"/>.</exception>
    public static void Write(string path, JsonObject config, IEnumerable<string> modules)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(modules);
        string[] names = modules.Distinct(StringComparer.Ordinal).OrderBy(n => n, StringComparer.Ordinal).ToArray();
        if (names.Length == 0) throw new ArgumentException("Give at least one quantized module.", nameof(modules));
        if (config.ContainsKey(ModulesKey)) throw new ArgumentException($"The config must not contain \"{ModulesKey}\" itself.", nameof(config));
        var file = (JsonObject)config.DeepClone();
        file[ModulesKey] = new JsonArray(names.Select(n => (JsonNode?)JsonValue.Create(n)).ToArray());
        string temporary = path + ".tmp";
        File.WriteAllText(temporary, file.ToJsonString(Json.JsonReflection.Options(indented: true)) + "\n");
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>Reads the file at <paramref name="path"/>: the settings (without the module list) and the modules.</summary>
    /// <exception cref="ModelFileException">The file is missing, is not a JSON object (the message gives the line) or has no non-empty list of module names.</exception>
    public static (JsonObject Config, IReadOnlyList<string> Modules) Read(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path)) throw new ModelFileException(path, "the file does not exist.", null);
        JsonErrorFactory error = (field, line, problem) => new ModelFileException(
            path, $"{(line > 0 ? $"line {line}: " : "")}{(field is null ? "" : $"\"{field}\": ")}{problem}.", null);
        JsonNode? root;
        using (JsonDocument document = JsonInput.ParseFile(path, error, JsonLimits.Strict))
        {
            root = JsonNode.Parse(document.RootElement.GetRawText(), documentOptions: JsonInput.DocumentOptions(JsonLimits.Strict));
        }
        if (root is not JsonObject config) throw new ModelFileException(path, "expected one JSON object.", null);
        if (config[ModulesKey] is not JsonArray list || list.Count == 0)
            throw new ModelFileException(path, $"expected \"{ModulesKey}\": a non-empty array of module names.", null);
        var modules = new List<string>();
        foreach (JsonNode? item in list)
        {
            if (item is not JsonValue v || !v.TryGetValue(out string? name) || string.IsNullOrWhiteSpace(name))
                throw new ModelFileException(path, $"\"{ModulesKey}\" must hold non-empty strings; found {item?.ToJsonString() ?? "null"}.", null);
            modules.Add(name);
        }
        config.Remove(ModulesKey);
        return (config, modules);
    }
}

using System;
using System.Collections.Generic;
using System.IO;
using System.Text.Json;
using System.Text.Json.Nodes;
using FineTuning.Json;
using static TorchSharp.torch;

namespace FineTuning.Models.HuggingFace;

/// <summary>Reading and writing <c>config.json</c>: the file's text, its <c>model_type</c>, error wrapping, dtype names.</summary>
internal static class HfConfigFile
{
    internal static readonly JsonSerializerOptions WriteOptions = new(Json.JsonReflection.Options(indented: true))
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>Reads the file and its <c>model_type</c>.</summary>
    internal static (string Json, JsonElement Root, string ModelType) Read(string path)
    {
        if (!File.Exists(path)) throw new ModelFileException(path, "the checkpoint folder has no config.json.", null);
        string json;
        try
        {
            json = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelFileException(path, $"cannot be read ({e.Message}).", e);
        }

        JsonElement root;
        using (JsonDocument document = JsonInput.Parse(json, Errors($"'{path}'"), JsonLimits.Strict))
        {
            root = document.RootElement.Clone();
        }

        if (root.ValueKind != JsonValueKind.Object) throw new ModelConfigException($"'{path}' must hold a JSON object, got {root.ValueKind}.");
        if (!root.TryGetProperty("model_type", out JsonElement type) || type.ValueKind != JsonValueKind.String)
        {
            throw new ModelConfigException($"'{path}' has no model_type string; supported: {string.Join(", ", HfCheckpoint.SupportedModelTypes)}.");
        }

        return (json, root, type.GetString()!);
    }

    /// <summary>Errors in a config file: <see cref="ModelConfigException"/> naming the file, the line and the field.</summary>
    internal static JsonErrorFactory Errors(string name) => (field, line, problem) =>
        new ModelConfigException($"{name}{(line > 0 ? $" line {line}" : "")}{(field is null ? "" : $", field '{field}'")}: {problem}.");

    /// <summary>Refuses text that System.Text.Json would read with an untyped exception (see <see cref="JsonInput"/>).</summary>
    internal static void Validate(string json, string name)
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonInput.Validate(System.Text.Encoding.UTF8.GetBytes(json), Errors(name), JsonLimits.Strict);
    }

    /// <summary>Runs <paramref name="parse"/> and prefixes any configuration error with the file's path.</summary>
    internal static T Parse<T>(string path, Func<T> parse)
    {
        try
        {
            return parse();
        }
        catch (ModelConfigException e)
        {
            throw e.Problems.Count > 0
                ? new ModelConfigException($"'{path}'", e.Problems)
                : new ModelConfigException($"'{path}': {e.Message}", e);
        }
        catch (FineTuningException e)
        {
            throw new ModelConfigException($"'{path}': {e.Message}", e);
        }
        catch (ArgumentException e)
        {
            throw new ModelConfigException($"'{path}': {e.Message}", e);
        }
    }

    /// <summary>HF's <c>torch_dtype</c> spelling.</summary>
    internal static string DTypeName(ScalarType dtype) => dtype switch
    {
        ScalarType.BFloat16 => "bfloat16",
        ScalarType.Float16 => "float16",
        ScalarType.Float64 => "float64",
        _ => "float32",
    };

    /// <summary>Adds the fields every HF config carries and writes the file.</summary>
    internal static void Write(string path, JsonObject config, string modelType, string architecture, ScalarType dtype)
    {
        config["model_type"] = modelType;
        config["architectures"] = new JsonArray(architecture);
        config["torch_dtype"] = DTypeName(dtype);
        var sorted = new JsonObject();
        var keys = new List<string>();
        foreach (KeyValuePair<string, JsonNode?> field in config) keys.Add(field.Key);
        keys.Sort(StringComparer.Ordinal);
        foreach (string key in keys)
        {
            JsonNode? value = config[key];
            config.Remove(key);
            sorted[key] = value;
        }

        File.WriteAllText(path, sorted.ToJsonString(WriteOptions) + "\n");
    }
}

using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace FineTuning.Lora.Peft;

/// <summary>
/// PEFT's <c>adapter_config.json</c> for LoRA: the fields PEFT writes (so PEFT can load our adapters) and the
/// ones we read back. Unknown fields are ignored on read, as PEFT does for fields of newer versions.
/// </summary>
public sealed record PeftAdapterConfig
{
    /// <summary>The file name PEFT uses.</summary>
    public const string FileName = "adapter_config.json";

    /// <summary><c>r</c>.</summary>
    public int R { get; init; }

    /// <summary><c>lora_alpha</c>.</summary>
    public double LoraAlpha { get; init; }

    /// <summary><c>lora_dropout</c>.</summary>
    public double LoraDropout { get; init; }

    /// <summary><c>target_modules</c> (leaf module names, or one regex string in PEFT's files).</summary>
    public IReadOnlyList<string> TargetModules { get; init; } = Array.Empty<string>();

    /// <summary><c>modules_to_save</c>.</summary>
    public IReadOnlyList<string> ModulesToSave { get; init; } = Array.Empty<string>();

    /// <summary><c>use_rslora</c>.</summary>
    public bool UseRsLoRA { get; init; }

    /// <summary><c>use_dora</c>.</summary>
    public bool UseDoRA { get; init; }

    /// <summary><c>base_model_name_or_path</c>, when known.</summary>
    public string? BaseModelNameOrPath { get; init; }

    /// <summary><c>task_type</c>, e.g. CAUSAL_LM or SEQ_CLS; null when unknown.</summary>
    public string? TaskType { get; init; }

    /// <summary>The update scale this config implies.</summary>
    public double Scaling => UseRsLoRA ? LoraAlpha / Math.Sqrt(R) : LoraAlpha / R;

    /// <summary>Writes the config as PEFT does (sorted keys, 2-space indent).</summary>
    public void Write(string path)
    {
        var json = new SortedDictionary<string, object?>(StringComparer.Ordinal)
        {
            ["alpha_pattern"] = new Dictionary<string, object>(),
            ["base_model_name_or_path"] = BaseModelNameOrPath,
            ["bias"] = "none",
            ["fan_in_fan_out"] = false,
            ["inference_mode"] = true,
            ["init_lora_weights"] = true,
            ["layers_pattern"] = null,
            ["layers_to_transform"] = null,
            ["lora_alpha"] = LoraAlpha,
            ["lora_dropout"] = LoraDropout,
            ["modules_to_save"] = ModulesToSave.Count == 0 ? null : ModulesToSave,
            ["peft_type"] = "LORA",
            ["r"] = R,
            ["rank_pattern"] = new Dictionary<string, object>(),
            ["revision"] = null,
            ["target_modules"] = TargetModules,
            ["task_type"] = TaskType,
            ["use_dora"] = UseDoRA,
            ["use_rslora"] = UseRsLoRA,
        };
        File.WriteAllText(path, JsonSerializer.Serialize(json, new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    /// <summary>Reads and checks a PEFT LoRA config; every problem is an <see cref="AdapterFormatException"/> naming the file.</summary>
    public static PeftAdapterConfig Read(string path)
    {
        JsonObject root;
        try
        {
            root = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new AdapterFormatException($"{path}: the top level is not a JSON object.");
        }
        catch (JsonException e)
        {
            throw new AdapterFormatException($"{path}: invalid JSON ({e.Message}).", e);
        }
        string peftType = Get<string>(root, "peft_type", path) ?? "";
        if (peftType != "LORA") throw new AdapterFormatException($"{path}: peft_type is \"{peftType}\"; only LORA adapters are supported.");
        int r = Get<int?>(root, "r", path) ?? throw new AdapterFormatException($"{path}: \"r\" is missing.");
        if (r < 1) throw new AdapterFormatException($"{path}: \"r\" must be at least 1 (was {r}).");
        if (root["rank_pattern"] is JsonObject rp && rp.Count > 0 || root["alpha_pattern"] is JsonObject ap && ap.Count > 0)
            throw new AdapterFormatException($"{path}: rank_pattern / alpha_pattern (per-module ranks) are not supported yet.");
        return new PeftAdapterConfig
        {
            R = r,
            LoraAlpha = Get<double?>(root, "lora_alpha", path) ?? 8,
            LoraDropout = Get<double?>(root, "lora_dropout", path) ?? 0,
            TargetModules = Strings(root["target_modules"], path, "target_modules"),
            ModulesToSave = Strings(root["modules_to_save"], path, "modules_to_save"),
            UseRsLoRA = Get<bool?>(root, "use_rslora", path) ?? false,
            UseDoRA = Get<bool?>(root, "use_dora", path) ?? false,
            BaseModelNameOrPath = Get<string>(root, "base_model_name_or_path", path),
            TaskType = Get<string>(root, "task_type", path),
        };
    }

    private static T? Get<T>(JsonObject root, string key, string path)
    {
        JsonNode? node = root[key];
        if (node is null) return default;
        try
        {
            return node.GetValue<T>();
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            throw new AdapterFormatException($"{path}: \"{key}\" has the wrong type ({node.ToJsonString()}); expected {typeof(T).Name.Replace("Nullable`1", "a value", StringComparison.Ordinal)}.", e);
        }
    }

    private static IReadOnlyList<string> Strings(JsonNode? node, string path, string key) => node switch
    {
        null => Array.Empty<string>(),
        JsonValue v when v.TryGetValue(out string? s) => new[] { s },
        JsonArray a => a.Select(x => x?.GetValue<string>() ?? throw new AdapterFormatException($"{path}: \"{key}\" contains null.")).ToArray(),
        _ => throw new AdapterFormatException($"{path}: \"{key}\" must be a string or a list of strings."),
    };
}

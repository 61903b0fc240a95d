using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using FineTuning.Json;

namespace FineTuning.Lora.Peft;

/// <summary>
/// PEFT's <c>adapter_config.json</c> for LoRA: the fields PEFT writes (so PEFT can load our adapters) and the
/// ones we read back. Unknown fields are ignored on read, as PEFT does for fields of newer versions.
/// </summary>
public sealed partial record PeftAdapterConfig
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

    /// <summary><c>trainable_token_indices</c> in its list form (rows of the input embedding), or empty.</summary>
    public IReadOnlyList<int> TrainableTokenIndices { get; init; } = Array.Empty<int>();

    /// <summary><c>trainable_token_indices</c> in its dictionary form (module name to rows), or empty.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<int>> TrainableTokenIndicesByModule { get; init; } = new Dictionary<string, IReadOnlyList<int>>();

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
            ["trainable_token_indices"] = TrainableTokenIndicesJson(),
            ["use_dora"] = UseDoRA,
            ["use_rslora"] = UseRsLoRA,
        };
        WriteFeatures(json);
        File.WriteAllText(path, JsonSerializer.Serialize(json, FineTuning.Json.JsonReflection.Options(indented: true)) + "\n");
    }

    /// <summary>Largest <c>lora_alpha</c> accepted: the scale alpha / r multiplies float32 activations, so it must stay far
    /// inside float32's range (3.4e38); PEFT configs use values up to a few hundred.</summary>
    public const double MaxLoraAlpha = 1e6;

    /// <summary>Largest rank accepted: far above any real adapter, small enough that r x features stays allocatable.</summary>
    public const int MaxR = 65536;

    /// <summary>Reads and checks a PEFT LoRA config; every problem is an <see cref="AdapterFormatException"/> naming the file, and for
    /// a field its name (and the line, for syntax errors, duplicate keys and strings that are not valid UTF-16).</summary>
    /// <param name="path">The adapter_config.json file.</param>
    /// <returns>The config.</returns>
    /// <exception cref="AdapterFormatException">The file is missing, unreadable, not JSON, or holds a wrong or out-of-range value.</exception>
    public static PeftAdapterConfig Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        JsonErrorFactory error = (field, line, problem) => new AdapterFormatException(
            $"{path}{(line > 0 ? $" line {line}" : "")}{(field is null ? "" : $": \"{field}\"")}: {problem}.");
        if (!File.Exists(path)) throw error(null, 0, "the file does not exist");
        using JsonDocument document = JsonInput.ParseFile(path, error, JsonLimits.Strict);
        var json = new JsonFieldReader(error);
        JsonElement root = json.RequireObject(document.RootElement, null);
        string peftType = json.OptionalString(root, null, "peft_type") ?? "";
        if (peftType != "LORA") throw error("peft_type", 0, $"is \"{peftType}\"; only LORA adapters are supported");
        int r = json.RequiredInt(root, null, "r", 1, MaxR);

        return ReadFeatures(json, root, path, new PeftAdapterConfig
        {
            R = r,
            LoraAlpha = PositiveAlpha(json, json.OptionalDouble(root, null, "lora_alpha", 8, -MaxLoraAlpha, MaxLoraAlpha)),
            LoraDropout = json.OptionalDouble(root, null, "lora_dropout", 0, 0, Math.BitDecrement(1.0)),
            TargetModules = Strings(json, root, "target_modules"),
            ModulesToSave = Strings(json, root, "modules_to_save"),
            UseRsLoRA = json.OptionalBool(root, null, "use_rslora", false),
            UseDoRA = json.OptionalBool(root, null, "use_dora", false),
            BaseModelNameOrPath = json.OptionalString(root, null, "base_model_name_or_path"),
            TaskType = json.OptionalString(root, null, "task_type"),
            TrainableTokenIndices = ReadTokenList(json, root),
            TrainableTokenIndicesByModule = ReadTokenDictionary(json, root),
        });
    }

    private static double PositiveAlpha(JsonFieldReader json, double alpha) =>
        alpha > 0 ? alpha : throw json.Error("lora_alpha", $"must be positive, got {alpha}");

    /// <summary>PEFT writes a list of names, or one regex string.</summary>
    private static IReadOnlyList<string> Strings(JsonFieldReader json, JsonElement root, string key) => JsonFieldReader.Optional(root, key) switch
    {
        null => Array.Empty<string>(),
        { ValueKind: JsonValueKind.String } v => new[] { v.GetString()! },
        { } v => json.StringArray(v, key),
    };
}

using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FineTuning.Models;
using FineTuning.Models.SafeTensors;
using Microsoft.Extensions.Logging;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Adapters;

/// <summary>
/// Saves and loads any <see cref="IPersistentAdapter"/> in PEFT's layout: <c>adapter_config.json</c> (the adapter's own
/// fields plus <c>peft_type</c>, <c>base_model_name_or_path</c>, <c>task_type</c>, sorted as PEFT writes them) and
/// <c>adapter_model.safetensors</c> (the adapter's tensors under <c>base_model.model.&lt;key&gt;</c>). Each file is
/// written under a temporary name and renamed into place. Loading dispatches on <c>peft_type</c> to an
/// <see cref="IAdapterFormat"/>, re-creates the adapter's layers on the model and fills them.
/// </summary>
public static class AdapterFiles
{
    /// <summary>The config file name PEFT uses.</summary>
    public const string ConfigFileName = "adapter_config.json";

    /// <summary>The weights file name PEFT uses.</summary>
    public const string WeightsFileName = "adapter_model.safetensors";

    /// <summary>The prefix PEFT puts before every tensor key (the wrapped model's path inside <c>PeftModel</c>).</summary>
    public const string KeyPrefix = "base_model.model.";

    private static readonly string[] CommonKeys = { "peft_type", "base_model_name_or_path", "task_type", "inference_mode", "revision" };

    /// <summary>
    /// Writes <paramref name="adapter"/> (applied to <paramref name="model"/>) to <paramref name="directory"/>.
    /// <paramref name="baseModelNameOrPath"/> and <paramref name="taskType"/> default to what the model reports as an
    /// <see cref="IPretrainedModel"/> (null otherwise).
    /// </summary>
    /// <exception cref="InvalidOperationException">The adapter has no tensors in this model (not applied), or its config holds a key this method writes.</exception>
    /// <exception cref="FineTuning.IO.SaveException">Writing failed (full disk, permissions): the folder is as it was.</exception>
    public static void Save(nn.Module model, string directory, IPersistentAdapter adapter, string? baseModelNameOrPath = null, string? taskType = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        ArgumentNullException.ThrowIfNull(adapter);
        if (string.IsNullOrWhiteSpace(adapter.PeftType)) throw new InvalidOperationException($"{adapter.GetType().Name}.PeftType is empty.");
        JsonObject config = adapter.ToConfig();
        foreach (string key in CommonKeys)
            if (config.ContainsKey(key)) throw new InvalidOperationException($"{adapter.GetType().Name}.ToConfig() returned \"{key}\", which AdapterFiles writes itself.");
        var pretrained = model as IPretrainedModel;
        config["peft_type"] = adapter.PeftType;
        config["base_model_name_or_path"] = baseModelNameOrPath ?? pretrained?.NameOrPath;
        config["task_type"] = taskType ?? pretrained?.TaskType;
        config["inference_mode"] = true;
        config["revision"] = null;
        var sorted = new JsonObject(config.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => KeyValuePair.Create(p.Key, p.Value?.DeepClone())));

        using var scope = NewDisposeScope();
        IReadOnlyDictionary<string, Tensor> state = adapter.AdapterState(model);
        if (state.Count == 0) throw new InvalidOperationException($"The {adapter.PeftType} adapter has no tensors in this model to save; apply it (or train with it) first.");
        var tensors = state.ToDictionary(p => KeyPrefix + p.Key, p => p.Value.detach().cpu(), StringComparer.Ordinal);
        byte[] json = Encoding.UTF8.GetBytes(sorted.ToJsonString(Json.JsonReflection.Options(indented: true)) + "\n");
        // One atomic folder save, as for LoRA adapters: a crash or a full disk never pairs new weights with an old config;
        // other files in the folder (a README, a tokenizer) are kept.
        FineTuning.IO.AtomicFolder.Write(directory, temp =>
        {
            SafeTensorsWriter.Write(Path.Combine(temp, WeightsFileName), tensors, new Dictionary<string, string> { ["format"] = "pt" });
            File.WriteAllBytes(Path.Combine(temp, ConfigFileName), json);
        }, new[] { WeightsFileName, ConfigFileName });
    }

    /// <summary>
    /// Loads the adapter saved in <paramref name="directory"/> onto <paramref name="model"/>: reads <c>adapter_config.json</c>,
    /// picks the format of its <c>peft_type</c> among <paramref name="formats"/>, applies the re-created adapter (which
    /// freezes the base as training did) and copies the saved tensors into its parameters. When the config names a base
    /// model other than the one <paramref name="model"/> was loaded from, the load goes on (the shapes decide) and a
    /// warning is logged to <paramref name="logger"/> and returned in <see cref="AdapterLoadResult.Warnings"/>.
    /// </summary>
    /// <exception cref="AdapterFileException">A file is missing or invalid, no format reads its peft_type, the adapter does not
    /// fit the model (nothing is changed then), or the saved tensors do not match the layers the adapter created (the
    /// model then carries freshly initialised adapter layers: load onto a fresh base).</exception>
    public static AdapterLoadResult Load(nn.Module model, string directory, IEnumerable<IAdapterFormat> formats, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        ArgumentNullException.ThrowIfNull(formats);
        string configPath = Path.Combine(directory, ConfigFileName);
        string weightsPath = Path.Combine(directory, WeightsFileName);
        JsonObject config = ReadConfig(configPath);
        string peftType = PeftType(config, configPath);
        IAdapterFormat[] known = formats.ToArray();
        IAdapterFormat format = known.FirstOrDefault(f => f.PeftType == peftType) ?? throw new AdapterFileException(configPath,
            $"peft_type is \"{peftType}\"; this load reads {(known.Length == 0 ? "no type" : string.Join(", ", known.Select(f => f.PeftType)))}. Pass the IAdapterFormat of that adapter.");
        if (!File.Exists(weightsPath)) throw new AdapterFileException(weightsPath, "the file does not exist (only the safetensors format is read; never pickled .bin files).");
        IPersistentAdapter adapter = format.FromConfig(config, configPath);
        List<string> problems = adapter.Validate(model).ToList();
        if (problems.Count > 0) throw new AdapterFileException(configPath, "the adapter does not fit this model: " + string.Join(" ", problems));
        string? recordedBase = OptionalString(config, "base_model_name_or_path", configPath);
        string? taskType = OptionalString(config, "task_type", configPath);

        using SafeTensorsReader reader = SafeTensorsReader.Open(weightsPath);
        var saved = new Dictionary<string, SafeTensorInfo>(StringComparer.Ordinal);
        foreach (SafeTensorInfo info in reader.Tensors)
        {
            if (!info.Name.StartsWith(KeyPrefix, StringComparison.Ordinal)) throw new AdapterFileException(weightsPath, $"tensor \"{info.Name}\" does not start with \"{KeyPrefix}\".");
            saved[info.Name[KeyPrefix.Length..]] = info;
        }

        adapter.Apply(model); // outside the scope below: parameters it creates must outlive this call
        using var scope = NewDisposeScope();
        IReadOnlyDictionary<string, Tensor> state = adapter.AdapterState(model);
        string[] missing = state.Keys.Where(k => !saved.ContainsKey(k)).Order(StringComparer.Ordinal).ToArray();
        string[] unexpected = saved.Keys.Where(k => !state.ContainsKey(k)).Order(StringComparer.Ordinal).ToArray();
        if (missing.Length > 0 || unexpected.Length > 0)
            throw new AdapterFileException(weightsPath, $"the tensors do not match the {peftType} layers the config creates on this model: " +
                $"missing [{string.Join(", ", missing.Take(5).Select(k => KeyPrefix + k))}], unexpected [{string.Join(", ", unexpected.Take(5).Select(k => KeyPrefix + k))}].");
        foreach ((string key, Tensor target) in state)
        {
            long[] shape = saved[key].Shape.ToArray();
            if (!shape.SequenceEqual(target.shape))
                throw new AdapterFileException(weightsPath, $"tensor \"{KeyPrefix}{key}\" has shape [{string.Join(", ", shape)}] but the model needs [{string.Join(", ", target.shape)}].");
        }
        using (no_grad())
        {
            foreach ((string key, Tensor target) in state) target.copy_(reader.Load(KeyPrefix + key));
        }

        var warnings = new List<string>();
        if (BaseModelMismatch(recordedBase, model) is { } mismatch)
        {
            warnings.Add(mismatch);
            if (logger is not null) AdapterLog.OtherBase(logger, directory, recordedBase!, ((IPretrainedModel)model).NameOrPath!);
        }
        return new AdapterLoadResult(adapter, peftType, recordedBase, taskType, warnings);
    }

    /// <summary>The <c>peft_type</c> of the adapter saved in <paramref name="directory"/> (to choose a loader).</summary>
    /// <exception cref="AdapterFileException">The config is missing, not a JSON object, or has no string <c>peft_type</c>.</exception>
    public static string ReadPeftType(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        string configPath = Path.Combine(directory, ConfigFileName);
        return PeftType(ReadConfig(configPath), configPath);
    }

    /// <summary>
    /// A warning when <paramref name="recordedBase"/> (an adapter's <c>base_model_name_or_path</c>) and the base
    /// <paramref name="model"/> was loaded from (<see cref="IPretrainedModel.NameOrPath"/>) are both known and differ;
    /// otherwise null. Paths compare by their full form, names exactly.
    /// </summary>
    public static string? BaseModelMismatch(string? recordedBase, nn.Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        string? current = (model as IPretrainedModel)?.NameOrPath;
        if (string.IsNullOrEmpty(recordedBase) || string.IsNullOrEmpty(current) || Same(recordedBase, current)) return null;
        return $"The adapter was trained on \"{recordedBase}\" and is loaded onto \"{current}\": the shapes fit, but it only does what it was trained for on its own base.";
    }

    private static bool Same(string a, string b)
    {
        if (string.Equals(a, b, StringComparison.Ordinal)) return true;
        static string Full(string p) => Path.TrimEndingDirectorySeparator(Path.GetFullPath(p));
        return (Directory.Exists(a) || File.Exists(a)) && string.Equals(Full(a), Full(b), StringComparison.Ordinal);
    }

    private static JsonObject ReadConfig(string path)
    {
        if (!File.Exists(path)) throw new AdapterFileException(path, "the file does not exist.");
        try
        {
            // The guarded JSON layer first: syntax, depth, duplicate keys, lone surrogates and invalid UTF-8 are refused
            // with the line and field, so the node reads below cannot throw anything but our typed error.
            byte[] bytes = File.ReadAllBytes(path);
            FineTuning.Json.JsonInput.Validate(bytes, (field, line, problem) =>
                new AdapterFileException(path, field is null ? $"line {line}: {problem}" : $"line {line}: \"{field}\": {problem}"), FineTuning.Json.JsonLimits.Strict);
            return JsonNode.Parse(bytes) as JsonObject ?? throw new AdapterFileException(path, "expected one JSON object at the top level.");
        }
        catch (JsonException e)
        {
            throw new AdapterFileException(path, $"invalid JSON at line {(e.LineNumber ?? 0) + 1}: {e.Message}", e);
        }
    }

    private static string PeftType(JsonObject config, string path) =>
        OptionalString(config, "peft_type", path) ?? throw new AdapterFileException(path, "\"peft_type\" is missing; expected a string such as \"LORA\" or \"IA3\".");

    private static string? OptionalString(JsonObject config, string key, string path) => config[key] switch
    {
        null => null,
        JsonValue v when v.TryGetValue(out string? s) => s,
        JsonNode other => throw new AdapterFileException(path, $"\"{key}\" must be a string; found {other.ToJsonString()}."),
    };
}

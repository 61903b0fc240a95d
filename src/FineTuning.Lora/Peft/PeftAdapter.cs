using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using FineTuning.Adapters;
using FineTuning.IO;
using FineTuning.Models.SafeTensors;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuning.Lora.Peft;

/// <summary>
/// Saves and loads LoRA adapters in PEFT's format: <c>adapter_config.json</c> + <c>adapter_model.safetensors</c> with
/// keys <c>base_model.model.&lt;module path&gt;.lora_A.weight</c> / <c>.lora_B.weight</c> (the adapter name removed)
/// and <c>base_model.model.&lt;module path&gt;.&lt;parameter&gt;</c> for modules_to_save.
/// </summary>
public static partial class PeftAdapter
{
    /// <summary>The weights file name PEFT uses.</summary>
    public const string WeightsFileName = "adapter_model.safetensors";

    private const string Prefix = "base_model.model.";

    /// <summary>The files a save writes or removes; anything else in the folder (a README, tokenizer files) is kept.</summary>
    private static readonly string[] OwnedFileNames = { WeightsFileName, PeftAdapterConfig.FileName, QuantizationConfigFile.FileName };

    /// <summary>
    /// Writes adapter <paramref name="adapterName"/> of <paramref name="model"/> to <paramref name="directory"/>. When the
    /// model has quantized base modules (<see cref="IQuantizedModule"/>: linear layers, QLoRA, or a quantized embedding), their settings and paths are written to
    /// <c>quantization_config.json</c> beside the adapter (<see cref="QuantizationConfigFile"/>; a stale one is removed
    /// otherwise), so that <see cref="Load(nn.Module, string, string)"/> can refuse a base quantized differently.
    /// </summary>
    /// <exception cref="InvalidOperationException">No such adapter, or it is merged.</exception>
    /// <exception cref="NotSupportedException">The quantized layers use different settings (checked before writing anything).</exception>
    /// <exception cref="SaveException">
    /// Writing failed (full disk, permissions). The save is atomic: the folder keeps its previous contents (or is not
    /// created) and no temporary files are left. Other files already in the folder are kept by a save.
    /// </exception>
    public static void Save(nn.Module model, string directory, string adapterName = "default", string? baseModelNameOrPath = null, string? taskType = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        (baseModelNameOrPath, taskType) = BaseModelOf(model, baseModelNameOrPath, taskType);
        var layers = LoRA.Layers(model).Where(l => l.Layer.AdapterNames.Contains(adapterName)).ToList();
        if (layers.Count == 0) throw new InvalidOperationException($"The model has no LoRA adapter named \"{adapterName}\" to save.");
        if (layers.Any(l => l.Layer.MergedAdapters.Count > 0)) throw new InvalidOperationException("Unmerge the adapters before saving them.");
        LoRALinear first = layers[0].Layer;
        LoRAOptions options = first.OptionsOf(adapterName) ?? new LoRAOptions
        {
            R = (int)first.A(adapterName).shape[0], Alpha = first.Scaling(adapterName) * first.A(adapterName).shape[0],
        };

        List<(string Name, IQuantizedModule Layer)> quantized = QuantizedLayers(model);
        JsonObject? quantization = quantized.Count == 0 ? null : quantized[0].Layer.QuantizationConfig();
        foreach ((string name, IQuantizedModule layer) in quantized)
        {
            if (layer.Mismatch(quantization!) is { } difference)
                throw new NotSupportedException($"Saving an adapter over layers quantized with different settings is not supported yet: \"{name}\" differs from \"{quantized[0].Name}\" ({difference}).");
        }

        using var scope = NewDisposeScope();
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach ((string name, LoRALinear layer) in layers)
        {
            tensors[Prefix + name + ".lora_A.weight"] = layer.A(adapterName).detach().cpu();
            tensors[Prefix + name + ".lora_B.weight"] = layer.B(adapterName).detach().cpu();
            // PEFT saves DoRA's magnitude without the ".weight" of its live module (older files have it; both are read).
            if (layer.IsDoRA(adapterName)) tensors[Prefix + name + ".lora_magnitude_vector"] = layer.Magnitude(adapterName).detach().cpu();
        }
        AddTokenRows(model, tensors);
        var savedModules = new List<string>();
        foreach ((string name, nn.Module module) in model.named_modules())
        {
            if (!options.ModulesToSave.Any(m => LoRAAdapter.NameMatches(name, m))) continue;
            savedModules.Add(name);
            foreach ((string p, Parameter param) in module.named_parameters())
                tensors[Prefix + name + "." + p] = param.detach().cpu();
        }

        var config = new PeftAdapterConfig
        {
            R = options.R,
            LoraAlpha = options.Alpha,
            LoraDropout = options.Dropout,
            UseRsLoRA = options.UseRsLoRA,
            UseDoRA = layers.Any(l => l.Layer.IsDoRA(adapterName)),
            TargetModules = layers.Select(l => l.Name[(l.Name.LastIndexOf('.') + 1)..]).Distinct().OrderBy(n => n, StringComparer.Ordinal).ToArray(),
            ModulesToSave = options.ModulesToSave.ToArray(),
            TrainableTokenIndices = options.TrainableTokenIndices.ToArray(),
            TrainableTokenIndicesByModule = options.TrainableTokenIndicesByModule.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<int>)kv.Value.ToArray(), StringComparer.Ordinal),
            BaseModelNameOrPath = baseModelNameOrPath,
            TaskType = taskType,
            RankPattern = new Dictionary<string, int>(options.RankPattern),
            AlphaPattern = new Dictionary<string, double>(options.AlphaPattern),
            LayersToTransform = options.LayersToTransform.ToArray(),
            LayersPattern = options.LayersPattern.ToArray(),
            ExcludeModules = options.Targets.ModuleTargets.Excluded,
            InitLoraWeights = options.InitLoraWeights,
            LoftQBits = options.InitLoraWeights.IsLoftQ ? LoftQBits(quantization) : null,
        };
        // The whole folder is one atomic save: the files are written into a temporary sibling folder, flushed, and
        // swapped in by rename, so a crash or a full disk never pairs new weights with an old or empty config.
        AtomicFolder.Write(directory, temp =>
        {
            SafeTensorsWriter.Write(Path.Combine(temp, WeightsFileName), tensors, new Dictionary<string, string> { ["format"] = "pt" });
            config.Write(Path.Combine(temp, PeftAdapterConfig.FileName));
            // The base's quantization, so that a reload can rebuild the same base (PEFT ignores the file). Without a
            // quantized base none is written, and a stale one from an earlier save is not carried over.
            if (quantization is not null) QuantizationConfigFile.Write(Path.Combine(temp, QuantizationConfigFile.FileName), quantization, quantized.Select(q => q.Name));
        }, OwnedFileNames);
    }

    /// <summary>
    /// Loads a PEFT LoRA adapter from <paramref name="directory"/> onto <paramref name="model"/> as adapter
    /// <paramref name="adapterName"/> and makes it active. The layers named in the weights file are wrapped (or get
    /// another adapter if already wrapped); the shapes must fit the model, else an <see cref="AdapterFormatException"/>
    /// names the tensor. modules_to_save weights are copied into the model. When the folder has a
    /// <c>quantization_config.json</c>, every module it lists must be a layer of <paramref name="model"/> quantized with
    /// those settings (e.g. by <c>QuantizationOptions.FromConfigFile</c> in FineTuning.Quantization), else an
    /// <see cref="AdapterFormatException"/> lists the differences. Nothing is changed when a check fails. A folder of
    /// another <c>peft_type</c> (IA3) loads through <see cref="AdapterFiles"/>; see the overload with a logger.
    /// </summary>
    public static void Load(nn.Module model, string directory, string adapterName = "default")
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        if (LoadOtherType(model, directory, adapterName, null) is not null) return;
        string configPath = Path.Combine(directory, PeftAdapterConfig.FileName);
        string weightsPath = Path.Combine(directory, WeightsFileName);
        if (!File.Exists(configPath)) throw new AdapterFormatException($"{configPath} does not exist.");
        if (!File.Exists(weightsPath)) throw new AdapterFormatException($"{weightsPath} does not exist (only the safetensors format is read; never pickled .bin files).");
        PeftAdapterConfig config = PeftAdapterConfig.Read(configPath);
        CheckQuantizedBase(model, Path.Combine(directory, QuantizationConfigFile.FileName));

        using var scope = NewDisposeScope();
        using SafeTensorsReader reader = SafeTensorsReader.Open(weightsPath);
        Dictionary<string, nn.Module> modules = model.named_modules().ToDictionary(m => m.name, m => m.module, StringComparer.Ordinal);
        var pairs = new Dictionary<string, (Tensor? A, Tensor? B)>(StringComparer.Ordinal);
        var magnitudes = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var saved = new List<(string Key, Parameter Target, Tensor Value)>();
        var tokenRows = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (SafeTensorInfo info in reader.Tensors)
        {
            string key = info.Name;
            if (!key.StartsWith(Prefix, StringComparison.Ordinal)) throw new AdapterFormatException($"{weightsPath}: tensor \"{key}\" does not start with \"{Prefix}\".");
            string rest = key[Prefix.Length..];
            if (AddLoRATensor(reader, key, config, weightsPath, configPath, pairs, magnitudes)) continue;
            if (IsTokenRows(rest))
            {
                tokenRows[TokenRowsModule(rest)] = reader.Load(key);
                continue;
            }
            int dot = rest.LastIndexOf('.');
            string modulePath = dot < 0 ? "" : rest[..dot];
            if (!config.ModulesToSave.Any(m => LoRAAdapter.NameMatches(modulePath, m)) || !modules.TryGetValue(modulePath, out nn.Module? owner))
                throw new AdapterFormatException($"{weightsPath}: tensor \"{key}\" is neither a LoRA weight nor a parameter of a modules_to_save module of this model.");
            Parameter? target = owner.named_parameters().FirstOrDefault(p => p.name == rest[(dot + 1)..]).parameter;
            if (target is null) throw new AdapterFormatException($"{weightsPath}: tensor \"{key}\": module \"{modulePath}\" has no parameter \"{rest[(dot + 1)..]}\".");
            Tensor value = reader.Load(key);
            CheckShape(weightsPath, key, value.shape, target.shape);
            saved.Add((key, target, value));
        }

        // Check everything before changing anything.
        var plan = new List<(string Path, Tensor A, Tensor B)>();
        foreach ((string path, (Tensor? a, Tensor? b)) in pairs.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            if (a is null || b is null) throw new AdapterFormatException($"{weightsPath}: \"{Prefix}{path}\" has lora_{(a is null ? "A" : "B")}.weight missing.");
            if (!modules.TryGetValue(path, out nn.Module? m) || m is not (Linear or LoRALinear or IFrozenLinear))
                throw new AdapterFormatException($"{weightsPath}: tensor \"{Prefix}{path}.lora_A.weight\" targets \"{path}\", which is not a linear layer of this model.");
            (long inFeatures, long outFeatures) = m switch
            {
                LoRALinear l => (l.InFeatures, l.OutFeatures),
                Linear l => (l.weight!.shape[1], l.weight!.shape[0]),
                _ => (((IFrozenLinear)m).InFeatures, ((IFrozenLinear)m).OutFeatures),
            };
            long r = PeftPatterns.Key(config.RankPattern.Keys, path) is { } rankKey ? config.RankPattern[rankKey] : config.R;
            CheckShape(weightsPath, $"{Prefix}{path}.lora_A.weight", a.shape, new[] { r, inFeatures });
            CheckShape(weightsPath, $"{Prefix}{path}.lora_B.weight", b.shape, new[] { outFeatures, r });
            if (config.UseDoRA)
            {
                if (!magnitudes.TryGetValue(path, out Tensor? magnitude))
                    throw new AdapterFormatException($"{weightsPath}: use_dora is true but \"{Prefix}{path}.lora_magnitude_vector\" is missing.");
                CheckShape(weightsPath, $"{Prefix}{path}.lora_magnitude_vector", magnitude.shape, new[] { outFeatures });
            }
            if (m is LoRALinear existing && existing.AdapterNames.Contains(adapterName))
                throw new AdapterFormatException($"Module \"{path}\" already has an adapter named \"{adapterName}\"; load it under another name.");
            if (config.ModulesToSave.FirstOrDefault(s => LoRAAdapter.NameMatches(path, s)) is { } both)
                throw new AdapterFormatException($"{weightsPath}: \"{Prefix}{path}\" has LoRA weights, but {configPath} also lists it in modules_to_save (\"{both}\").");
            plan.Add((path, a, b));
        }
        if (plan.Count == 0) throw new AdapterFormatException($"{weightsPath} holds no LoRA weights.");
        if (LoRA.Layers(model).FirstOrDefault(l => l.Layer.MergedAdapters.Count > 0) is { Layer: not null } merged)
            throw new InvalidOperationException($"Module \"{merged.Name}\" has merged adapters; unmerge them before loading another adapter.");

        var options = new LoRAOptions
        {
            R = config.R, Alpha = config.LoraAlpha, Dropout = config.LoraDropout, UseRsLoRA = config.UseRsLoRA, UseDoRA = config.UseDoRA,
            AdapterName = adapterName, Targets = LoRATargets.Exact(plan.Select(p => p.Path).ToArray()),
        };
        foreach (string m in config.ModulesToSave) options.ModulesToSave.Add(m);
        foreach ((string k, int v) in config.RankPattern) options.RankPattern[k] = v;
        foreach ((string k, double v) in config.AlphaPattern) options.AlphaPattern[k] = v;
        CopyTrainableTokenIndices(config, options);
        CheckTokenRows(model, options, tokenRows, weightsPath, configPath);
        // What the layers record (and a later save writes back): the file's fields, layer selection and init included.
        LoRAOptions recorded = options.Clone();
        config.CopyFeaturesTo(recorded);
        if (config.ExcludeModules is not null) recorded.Targets = LoRATargets.FromModuleTargets(options.Targets.ModuleTargets.Except(config.ExcludeModules));
        var adapter = new LoRAAdapter(options);
        // The last check before the model changes: whatever the adapter itself would refuse is refused here.
        List<string> problems = adapter.Validate(model).ToList();
        if (problems.Count > 0) throw new AdapterFormatException($"{directory}: the adapter does not fit this model: {string.Join(" ", problems)}");
        // As after WithLoRA: adapters (and modules_to_save) trainable, the rest frozen. No initialisation runs: the file's
        // A and B overwrite the defaults, and a PiSSA/OLoRA/LoftQ adapter belongs on the residual base it was saved over.
        adapter.Apply(model, initialise: false);
        using (no_grad())
        {
            foreach ((string path, Tensor a, Tensor b) in plan)
            {
                var layer = (LoRALinear)model.named_modules().First(m => m.name == path).module;
                layer.RecordOptions(adapterName, recorded);
                layer.A(adapterName).copy_(a);
                layer.B(adapterName).copy_(b);
                if (config.UseDoRA) layer.Magnitude(adapterName).copy_(magnitudes[path]);
            }
            foreach ((_, Parameter target, Tensor value) in saved) target.copy_(value);
            LoadTokenRows(model, tokenRows);
        }
        LoRA.SetActiveAdapter(model, adapterName);
    }

    /// <summary>
    /// Takes <paramref name="key"/> into <paramref name="pairs"/> (lora_A / lora_B by module path) or <paramref name="magnitudes"/>
    /// (DoRA) when it is a LoRA tensor; false for anything else (a modules_to_save parameter).
    /// </summary>
    private static bool AddLoRATensor(SafeTensorsReader reader, string key, PeftAdapterConfig config, string weightsPath, string configPath,
        Dictionary<string, (Tensor? A, Tensor? B)> pairs, Dictionary<string, Tensor> magnitudes)
    {
        string rest = key[Prefix.Length..];
        int magnitudeAt = rest.IndexOf(".lora_magnitude_vector", StringComparison.Ordinal);
        if (magnitudeAt >= 0)
        {
            if (!config.UseDoRA) throw new AdapterFormatException($"{weightsPath}: tensor \"{key}\" is a DoRA magnitude vector but use_dora is false in {configPath}.");
            magnitudes[rest[..magnitudeAt]] = reader.Load(key); // ".lora_magnitude_vector" or ".lora_magnitude_vector.weight"
            return true;
        }
        if (rest.EndsWith(".lora_A.weight", StringComparison.Ordinal) || rest.EndsWith(".lora_B.weight", StringComparison.Ordinal))
        {
            string path = rest[..^".lora_A.weight".Length];
            (Tensor? a, Tensor? b) = pairs.GetValueOrDefault(path);
            if (rest[^8] == 'A') a = reader.Load(key); else b = reader.Load(key);
            pairs[path] = (a, b);
            return true;
        }
        return false;
    }

    /// <summary>The quantized modules (linear layers and embeddings), named by their path in the plain model (a LoRA wrapper's base_layer by the wrapper's path).</summary>
    private static List<(string Name, IQuantizedModule Layer)> QuantizedLayers(nn.Module model)
    {
        const string BaseSuffix = "." + LoRALinear.BaseLayerName;
        var found = new List<(string, IQuantizedModule)>();
        foreach ((string name, nn.Module module) in model.named_modules())
        {
            if (module is IQuantizedModule q) found.Add((name.EndsWith(BaseSuffix, StringComparison.Ordinal) ? name[..^BaseSuffix.Length] : name, q));
        }
        return found;
    }

    /// <summary>An adapter saved over a quantized base loads only onto a base quantized the same way (else outputs would differ).</summary>
    private static void CheckQuantizedBase(nn.Module model, string path)
    {
        if (!File.Exists(path)) return;
        (JsonObject recorded, IReadOnlyList<string> modules) = QuantizationConfigFile.Read(path);
        Dictionary<string, IQuantizedModule> present = QuantizedLayers(model).ToDictionary(q => q.Name, q => q.Layer, StringComparer.Ordinal);
        var problems = new List<string>();
        foreach (string module in modules)
        {
            if (!present.TryGetValue(module, out IQuantizedModule? layer)) problems.Add($"\"{module}\" is not a quantized layer of this model");
            else if (layer.Mismatch(recorded) is { } difference) problems.Add($"\"{module}\": {difference}");
        }
        if (problems.Count == 0) return;
        throw new AdapterFormatException(
            $"{path}: the adapter was trained over a base quantized as this file records ({recorded.ToJsonString()}), and this model differs: " +
            string.Join("; ", problems.Take(5)) + (problems.Count > 5 ? $"; and {problems.Count - 5} more" : "") +
            ". Quantize the base the same way first, e.g. new QuantizationAdapter(QuantizationOptions.FromConfigFile(path)).Apply(model) with FineTuning.Quantization.");
    }

    /// <summary>LoftQ's <c>loftq_bits</c>: the bit width the base's transformers-style quantization_config records, if any.</summary>
    private static int? LoftQBits(JsonObject? quantization) =>
        quantization is null ? null
        : quantization["load_in_4bit"] is JsonValue four && four.TryGetValue(out bool is4) && is4 ? 4
        : quantization["load_in_8bit"] is JsonValue eight && eight.TryGetValue(out bool is8) && is8 ? 8
        : null;

    private static void CheckShape(string file, string key, long[] actual, long[] expected)
    {
        if (!actual.SequenceEqual(expected))
            throw new AdapterFormatException($"{file}: tensor \"{key}\" has shape [{string.Join(", ", actual)}] but the model needs [{string.Join(", ", expected)}].");
    }
}

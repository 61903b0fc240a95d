using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using FineTuning.Models.SafeTensors;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuning.Lora.Peft;

/// <summary>Hot-swapping an adapter's weights in place (PEFT's <c>hotswap_adapter</c>).</summary>
public static partial class PeftAdapter
{
    /// <summary>
    /// PEFT's <c>hotswap_adapter</c>: replaces the weights of the loaded adapter <paramref name="adapterName"/> by those saved in
    /// <paramref name="directory"/>, in place: no layer is re-wrapped and the parameter objects stay the same (an optimizer or
    /// a compiled graph holding them keeps working). The folder must adapt exactly the same layers with the same shapes;
    /// <c>lora_alpha</c> (and so the scale) may differ, while <c>use_rslora</c>, <c>use_dora</c>, <c>lora_dropout</c> and
    /// <c>alpha_pattern</c> must be the same, as PEFT requires. Everything is checked before any weight changes. Afterwards the
    /// model computes what a fresh <see cref="Load(nn.Module, string, string)"/> of the folder computes.
    /// </summary>
    /// <exception cref="AdapterFormatException">The folder is invalid, or its adapter does not match the loaded one (the message names the field or tensor).</exception>
    /// <exception cref="InvalidOperationException">The model has no adapter <paramref name="adapterName"/>, or it is merged.</exception>
    /// <exception cref="NotSupportedException">The folder holds modules_to_save weights (not supported yet).</exception>
    public static void Hotswap(nn.Module model, string directory, string adapterName = "default")
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        var layers = LoRA.Layers(model).Where(l => l.Layer.AdapterNames.Contains(adapterName)).ToDictionary(l => l.Name, l => l.Layer, StringComparer.Ordinal);
        if (layers.Count == 0) throw new InvalidOperationException($"The model has no LoRA adapter named \"{adapterName}\" to hot-swap; load one first.");
        if (layers.Values.Any(l => l.MergedAdapters.Count > 0)) throw new InvalidOperationException("Unmerge the adapters before hot-swapping one.");
        string configPath = Path.Combine(directory, PeftAdapterConfig.FileName);
        string weightsPath = Path.Combine(directory, WeightsFileName);
        if (!File.Exists(weightsPath)) throw new AdapterFormatException($"{weightsPath} does not exist (only the safetensors format is read; never pickled .bin files).");
        PeftAdapterConfig config = PeftAdapterConfig.Read(configPath);
        LoRAOptions current = layers.Values.First().OptionsOf(adapterName) ?? new LoRAOptions();
        CheckHotswapCompatible(configPath, current, layers.Values.First().IsDoRA(adapterName), config);
        CheckQuantizedBase(model, Path.Combine(directory, Adapters.QuantizationConfigFile.FileName));

        using var scope = NewDisposeScope();
        using SafeTensorsReader reader = SafeTensorsReader.Open(weightsPath);
        var pairs = new Dictionary<string, (Tensor? A, Tensor? B)>(StringComparer.Ordinal);
        var magnitudes = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (SafeTensorInfo info in reader.Tensors)
        {
            if (!info.Name.StartsWith(Prefix, StringComparison.Ordinal)) throw new AdapterFormatException($"{weightsPath}: tensor \"{info.Name}\" does not start with \"{Prefix}\".");
            if (!AddLoRATensor(reader, info.Name, config, weightsPath, configPath, pairs, magnitudes))
                throw new NotSupportedException($"{weightsPath}: tensor \"{info.Name}\" is not a LoRA weight; hot-swapping modules_to_save weights is not supported yet.");
        }
        string[] missing = layers.Keys.Where(k => !pairs.ContainsKey(k)).Order(StringComparer.Ordinal).ToArray();
        string[] unexpected = pairs.Keys.Where(k => !layers.ContainsKey(k)).Order(StringComparer.Ordinal).ToArray();
        if (missing.Length > 0 || unexpected.Length > 0)
            throw new AdapterFormatException($"{weightsPath}: hot-swapping needs the same adapted layers as adapter \"{adapterName}\"; missing [{string.Join(", ", missing.Take(5))}], unexpected [{string.Join(", ", unexpected.Take(5))}].");
        foreach ((string path, LoRALinear layer) in layers)
        {
            (Tensor? a, Tensor? b) = pairs[path];
            if (a is null || b is null) throw new AdapterFormatException($"{weightsPath}: \"{Prefix}{path}\" has lora_{(a is null ? "A" : "B")}.weight missing.");
            CheckShape(weightsPath, $"{Prefix}{path}.lora_A.weight", a.shape, layer.A(adapterName).shape);
            CheckShape(weightsPath, $"{Prefix}{path}.lora_B.weight", b.shape, layer.B(adapterName).shape);
            if (config.UseDoRA)
            {
                if (!magnitudes.TryGetValue(path, out Tensor? m)) throw new AdapterFormatException($"{weightsPath}: use_dora is true but \"{Prefix}{path}.lora_magnitude_vector\" is missing.");
                CheckShape(weightsPath, $"{Prefix}{path}.lora_magnitude_vector", m.shape, layer.Magnitude(adapterName).shape);
            }
        }

        LoRAOptions recorded = current.Clone();
        recorded.Alpha = config.LoraAlpha;
        recorded.RankPattern.Clear();
        foreach ((string k, int v) in config.RankPattern) recorded.RankPattern[k] = v;
        using (no_grad())
        {
            foreach ((string path, LoRALinear layer) in layers)
            {
                layer.A(adapterName).copy_(pairs[path].A!);
                layer.B(adapterName).copy_(pairs[path].B!);
                if (config.UseDoRA) layer.Magnitude(adapterName).copy_(magnitudes[path]);
                layer.SetScaling(adapterName, recorded.ScalingFor(path));
                layer.RecordOptions(adapterName, recorded);
            }
        }
    }

    /// <summary>PEFT's <c>check_hotswap_configs_compatible</c>: the keys that change the computation beyond the weights must agree.</summary>
    private static void CheckHotswapCompatible(string configPath, LoRAOptions current, bool dora, PeftAdapterConfig config)
    {
        var differences = new List<string>();
        if (current.UseRsLoRA != config.UseRsLoRA) differences.Add($"use_rslora: {current.UseRsLoRA} != {config.UseRsLoRA}");
        if (dora != config.UseDoRA) differences.Add($"use_dora: {dora} != {config.UseDoRA}");
        if (current.Dropout != config.LoraDropout) differences.Add($"lora_dropout: {current.Dropout} != {config.LoraDropout}");
        if (!current.AlphaPattern.OrderBy(p => p.Key, StringComparer.Ordinal).SequenceEqual(config.AlphaPattern.OrderBy(p => p.Key, StringComparer.Ordinal)))
            differences.Add("alpha_pattern differs");
        if (differences.Count > 0)
            throw new AdapterFormatException($"{configPath}: the adapter cannot be hot-swapped into the loaded one (configs are incompatible: {string.Join("; ", differences)}).");
    }
}

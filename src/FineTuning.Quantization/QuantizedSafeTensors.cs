using System;
using System.Collections.Generic;
using System.Linq;
using FineTuning.Models.SafeTensors;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuning.Quantization;

/// <summary>
/// Saves and loads a model with quantized layers as one safetensors file, using bitsandbytes' tensor names for each
/// <see cref="QuantizedLinear"/> (and <see cref="QuantizedEmbedding"/>, as bitsandbytes' <c>Embedding4bit</c>) at path <c>L</c>: <c>L.weight</c> (packed codes, uint8 [n·bits/8, 1]),
/// <c>L.weight.absmax</c> (float32 scales, or uint8 codes of the scales with double quantization),
/// <c>L.weight.quant_map</c> (the format's values), <c>L.weight.nested_absmax</c> and <c>L.weight.nested_quant_map</c>
/// (double quantization), <c>L.weight.quant_state.bitsandbytes__nf4</c> (JSON in uint8: type, block size, dtype,
/// shape, nested block size and offset) and <c>L.bias</c>; every other tensor of the model under its state-dict name.
/// </summary>
public static class QuantizedSafeTensors
{
    /// <summary>Writes every parameter and buffer of <paramref name="model"/>, quantized layers in their packed form.</summary>
    public static void Save(nn.Module model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var scope = NewDisposeScope();
        var tensors = new Dictionary<string, Tensor>(model.state_dict(), StringComparer.Ordinal);
        foreach ((string name, nn.Module m) in WithRoot(model))
        {
            QuantizedWeight? stored = m switch
            {
                QuantizedLinear q => q.Weight,
                QuantizedEmbedding e => e.Weight,
                _ => null,
            };
            if (stored is not { } w) continue;
            string p = Prefix(name);
            tensors[p + "weight"] = w.Packed.view(-1, 1);
            tensors[p + "weight.absmax"] = w.Scales is null ? w.Absmax! : w.Scales.Codes;
            tensors[p + "weight.quant_map"] = tensor(w.Type.Table);
            if (w.Scales is not null)
            {
                tensors[p + "weight.nested_absmax"] = w.Scales.NestedAbsmax;
                tensors[p + "weight.nested_quant_map"] = tensor(w.Scales.Map);
            }
            tensors[p + QuantStateJson.KeySuffix(w.Type)] = tensor(QuantStateJson.Of(w).ToBytes());
        }
        SafeTensorsWriter.Write(path, tensors, new Dictionary<string, string> { ["format"] = "pt" });
    }

    /// <summary>
    /// Loads a file written by <see cref="Save"/> into <paramref name="model"/> (the same architecture): layers stored
    /// quantized replace the model's <c>Linear</c> or <c>Embedding</c> (or quantized) layer of that name, every other tensor is copied in.
    /// Everything is checked before the model changes; all problems are reported together.
    /// </summary>
    /// <exception cref="QuantizationException">The file's quant state is inconsistent or does not fit the model.</exception>
    public static void Load(nn.Module model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        using SafeTensorsReader reader = SafeTensorsReader.Open(path);
        var problems = new List<string>();
        var layers = new List<StoredLayer>();
        Dictionary<string, nn.Module> modules = WithRoot(model).ToDictionary(m => m.Name, m => m.Module, StringComparer.Ordinal);
        foreach (SafeTensorInfo info in reader.Tensors.Where(t => IsQuantState(t.Name)))
        {
            StoredLayer? layer = StoredLayer.Check(reader, info, modules, problems);
            if (layer is not null) layers.Add(layer);
        }
        var owned = new HashSet<string>(layers.SelectMany(l => l.TensorNames), StringComparer.Ordinal);
        Dictionary<string, Tensor> state = model.state_dict();
        foreach ((string key, Tensor t) in state)
        {
            if (layers.Any(l => key.StartsWith(l.Prefix, StringComparison.Ordinal))) continue;
            if (!reader.TryGetInfo(key, out SafeTensorInfo? info)) problems.Add($"the model's \"{key}\" is not in the file");
            else if (!info.GetShapeArray().SequenceEqual(t.shape))
                problems.Add($"\"{key}\" is [{string.Join(", ", info.Shape)}] in the file but [{string.Join(", ", t.shape)}] in the model");
        }
        foreach (SafeTensorInfo info in reader.Tensors)
            if (!owned.Contains(info.Name) && !state.ContainsKey(info.Name) && !layers.Any(l => info.Name == l.Prefix + "bias"))
                problems.Add($"\"{info.Name}\" belongs to no module of the model");
        if (problems.Count > 0)
            throw new QuantizationException($"'{path}' does not fit the model: " + string.Join("; ", problems) + ".");

        foreach (StoredLayer l in layers) l.Apply(reader, modules);
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        foreach ((string key, Tensor t) in model.state_dict())
            if (!layers.Any(l => key.StartsWith(l.Prefix, StringComparison.Ordinal))) t.copy_(reader.Load(key));
    }

    internal static bool IsQuantState(string name) =>
        name.StartsWith(QuantStateJson.KeyPrefix, StringComparison.Ordinal) || name.Contains("." + QuantStateJson.KeyPrefix, StringComparison.Ordinal);

    internal static string Prefix(string moduleName) => moduleName.Length == 0 ? string.Empty : moduleName + ".";

    private static IEnumerable<(string Name, nn.Module Module)> WithRoot(nn.Module model) =>
        model.named_modules().Prepend((string.Empty, model));
}

using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuning.Adapters;

/// <summary>
/// The frozen layers of a model whose weights are stored in another form (<see cref="IFrozenLinear"/>: a quantized
/// base, QLoRA; <see cref="IFrozenEmbedding"/>: a quantized token embedding), found by name, and turned back into plain
/// dense layers (transformers' <c>model.dequantize()</c>).
/// Exporters use it to refuse a model that still holds such layers: their weights are not parameters, so a file
/// written from the state dict would silently lack them.
/// </summary>
public static class QuantizedLayers
{
    /// <summary>The registered name an adapter layer gives the layer it wraps (PEFT's <c>base_layer</c>).</summary>
    private const string AdapterBaseName = "base_layer";

    /// <summary>Full names of every <see cref="IFrozenLinear"/> and <see cref="IFrozenEmbedding"/> module in <paramref name="model"/>, in module order (the root included).</summary>
    /// <param name="model">The model.</param>
    public static IReadOnlyList<string> Names(nn.Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var names = new List<string>();
        if (IsFrozen(model)) names.Add(string.Empty);
        foreach ((string name, nn.Module module) in model.named_modules())
            if (IsFrozen(module)) names.Add(name);
        return names;
    }

    private static bool IsFrozen(nn.Module module) => module is IFrozenLinear or IFrozenEmbedding;

    /// <summary>
    /// Replaces every <see cref="IFrozenLinear"/> layer of <paramref name="model"/> by a frozen dense <c>Linear</c> holding its
    /// dequantized weight (and bias) in <paramref name="dtype"/>, and every <see cref="IFrozenEmbedding"/> by a frozen
    /// <c>Embedding</c>, on the device the weight is stored on, so the model is the original architecture again and can be saved as a Hugging Face folder or a GGUF file.
    /// The outputs stay what the quantized model computed, up to the rounding of the products; the quantization error stays
    /// in the weights. Layers an adapter wraps (named <c>base_layer</c>) are refused: merge or unload the adapter first
    /// (FineTuning.Lora's <c>LoRA.MergeAndUnload</c> with <c>DequantizeQuantizedBase</c> dequantizes them along the way).
    /// </summary>
    /// <param name="model">The model; changed in place.</param>
    /// <param name="dtype">The dtype of the dense weights (default float32).</param>
    /// <returns>The full names of the layers replaced.</returns>
    /// <exception cref="InvalidOperationException">An adapter wraps a quantized layer, or a layer's holder cannot be changed; nothing was replaced.</exception>
    /// <exception cref="ArgumentException"><paramref name="dtype"/> is not floating-point.</exception>
    public static IReadOnlyList<string> Dequantize(nn.Module model, ScalarType dtype = ScalarType.Float32)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (!is_floating_point(dtype)) throw new ArgumentException($"Weights dequantize to a floating-point dtype, not {dtype}.", nameof(dtype));
        if (IsFrozen(model)) throw new InvalidOperationException("The model itself is a quantized layer; there is no parent to put a dense layer in.");
        var sites = new List<(string Name, string ParentName, string ChildName, nn.Module Parent, nn.Module Layer)>();
        foreach ((string parentName, nn.Module parent) in model.named_modules().Prepend((string.Empty, model)))
        {
            foreach ((string childName, nn.Module child) in parent.named_children())
            {
                if (!IsFrozen(child)) continue;
                string name = parentName.Length == 0 ? childName : parentName + "." + childName;
                sites.Add((name, parentName, childName, parent, child));
            }
        }

        var problems = new List<string>();
        foreach (var s in sites)
        {
            if (s.ChildName == AdapterBaseName)
            {
                problems.Add($"\"{s.Name}\" is the base of adapter layer \"{s.ParentName}\" ({s.Parent.GetType().Name}): merge and unload the adapter first " +
                             "(LoRA.MergeAndUnload with MergeOptions.DequantizeQuantizedBase dequantizes it), or unload it");
                continue;
            }

            string? problem = ModuleSurgery.CheckReplaceable(s.Parent, s.ParentName, s.ChildName, s.Layer, s.Layer is IFrozenEmbedding ? typeof(Embedding) : typeof(Linear));
            if (problem is not null) problems.Add(problem);
        }

        if (problems.Count > 0) throw new InvalidOperationException($"Cannot dequantize the model: {string.Join("; ", problems)}.");
        foreach (var s in sites)
        {
            nn.Module dense = s.Layer is IFrozenEmbedding embedding ? Dense(embedding, dtype) : Dense((IFrozenLinear)s.Layer, dtype);
            ModuleSurgery.Replace(s.Parent, s.ChildName, s.Layer, dense);
            s.Layer.Dispose();
        }

        // The quantized storage is freed as each layer is replaced, but glibc keeps the freed pages resident.
        Training.NativeAllocator.Trim();
        return sites.Select(s => s.Name).ToList();
    }

    /// <summary>
    /// Null when <paramref name="model"/> holds no <see cref="IFrozenLinear"/> layer; otherwise one sentence naming them
    /// (at most five) and saying how to dequantize, for exporters' errors.
    /// </summary>
    internal static string? ExportProblem(nn.Module model)
    {
        IReadOnlyList<string> names = Names(model);
        if (names.Count == 0) return null;
        string listed = string.Join(", ", names.Take(5).Select(n => $"\"{n}\"")) + (names.Count > 5 ? $" and {names.Count - 5} more" : string.Empty);
        return $"{names.Count} layer(s) are stored quantized ({listed}), and their weights are not parameters a file can hold. " +
               "Dequantize them first: LoRA.MergeAndUnload(model, new MergeOptions { DequantizeQuantizedBase = true }) for a QLoRA model, " +
               "or QuantizedLayers.Dequantize(model) for a quantized model without adapters";
    }

    private static Embedding Dense(IFrozenEmbedding layer, ScalarType dtype)
    {
        using var noGrad = no_grad();
        using Tensor weight = layer.DenseWeight(dtype);
        Embedding embedding = nn.Embedding(layer.NumEmbeddings, layer.EmbeddingDim, device: weight.device, dtype: dtype);
        embedding.weight!.copy_(weight);
        embedding.weight.requires_grad = false;
        return embedding;
    }

    private static Linear Dense(IFrozenLinear layer, ScalarType dtype)
    {
        using var noGrad = no_grad();
        using Tensor weight = layer.DenseWeight(dtype);
        using Tensor? bias = layer.DenseBias(dtype);
        Linear linear = nn.Linear(layer.InFeatures, layer.OutFeatures, hasBias: bias is not null, device: weight.device, dtype: dtype);
        linear.weight!.copy_(weight);
        if (bias is not null) linear.bias!.copy_(bias);
        foreach (Parameter p in linear.parameters()) p.requires_grad = false;
        return linear;
    }
}

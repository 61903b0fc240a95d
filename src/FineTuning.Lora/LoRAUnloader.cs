using System;
using System.Collections.Generic;
using System.Linq;
using FineTuning.Adapters;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuning.Lora;

/// <summary>
/// Puts plain layers back in place of every <see cref="LoRALinear"/> (PEFT's <c>_unload_and_optionally_merge</c>):
/// the merged dense weight, or the untouched base layer. Afterwards the model is the original architecture again.
/// </summary>
internal static class LoRAUnloader
{
    internal static void Run(nn.Module model, bool merge, MergeOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        List<Site> sites = Sites(model);
        if (sites.Count == 0) throw new InvalidOperationException("The model has no LoRA layers; apply a LoRAAdapter (WithLoRA) first.");
        if (merge && !options.DequantizeQuantizedBase)
        {
            string[] quantized = sites.Where(s => !s.Layer.CanMerge).Select(s => $"\"{s.Name}\" ({s.Layer.BaseLayer.GetType().Name})").ToArray();
            if (quantized.Length > 0)
            {
                throw new InvalidOperationException(
                    $"{quantized.Length} LoRA layer(s) wrap a base that is not a dense Linear (a quantized base, QLoRA): {string.Join(", ", quantized.Take(5))}. " +
                    "Merging turns them into dense layers of the adapter's dtype (dequantized base + update, in fp32): pass " +
                    "new MergeOptions { DequantizeQuantizedBase = true } to do so, or call LoRA.Unload to drop the adapters.");
            }
        }

        // With the opt-in, quantized layers no adapter wraps (quantized but not targeted by LoRA, or a quantized lm_head)
        // are dequantized too, so the result holds no quantized layer an export would have to refuse.
        bool dequantizeRest = merge && options.DequantizeQuantizedBase;
        if (dequantizeRest)
        {
            string[] wrapped = QuantizedLayers.Names(model)
                .Where(n => n.EndsWith("." + LoRALinear.BaseLayerName, StringComparison.Ordinal) && !sites.Any(s => n == s.Name + "." + LoRALinear.BaseLayerName))
                .ToArray();
            if (wrapped.Length > 0)
                throw new InvalidOperationException($"Quantized layer(s) {string.Join(", ", wrapped.Take(5).Select(n => $"\"{n}\""))} are wrapped by another adapter; unload it before dequantizing. Nothing was merged.");
        }

        // The dtype of the layers dequantized without an adapter: the adapter's (the base's compute dtype), as for the merged ones.
        ScalarType dtype = sites.Select(s => s.Layer.ActiveAdapter is string a ? (ScalarType?)s.Layer.A(a).dtype : null).FirstOrDefault(d => d is not null) ?? ScalarType.Float32;

        // Compute and check every merge before writing any weight, so that a refused (non-finite) merge leaves the
        // model exactly as it was.
        var dense = new Dictionary<LoRALinear, Linear>();
        if (merge)
        {
            foreach (Site s in sites)
            {
                using Tensor weight = s.Layer.MergedDenseWeight();
                if (options.SafeMerge && !AllFinite(weight))
                {
                    foreach (Linear linear in dense.Values) linear.Dispose();
                    throw new InvalidOperationException($"Merging into \"{s.Name}\" would make its weight non-finite; nothing was merged and the model is unchanged.");
                }

                if (!s.Layer.CanMerge) dense[s.Layer] = Densify(s, weight);
            }

            foreach (Site s in sites.Where(s => s.Layer.CanMerge && s.Layer.ActiveAdapter is not null)) s.Layer.Merge(safe: false);
        }

        foreach (Site s in sites)
        {
            if (!merge) s.Layer.Unmerge();
            nn.Module<Tensor, Tensor> replacement = dense.TryGetValue(s.Layer, out Linear? d) ? d : s.Layer.ReleaseBaseLayer();
            ModuleSurgery.Replace(s.Parent, s.ChildName, s.Layer, replacement);
            s.Layer.Dispose();
        }

        if (dequantizeRest) QuantizedLayers.Dequantize(model, dtype);
    }

    private static bool AllFinite(Tensor t)
    {
        using Tensor finite = t.isfinite();
        using Tensor all = finite.all();
        return all.item<bool>();
    }

    private static Linear Densify(Site s, Tensor weight)
    {
        LoRALinear layer = s.Layer;
        var frozen = (IFrozenLinear)layer.BaseLayer;
        ScalarType dtype = layer.ActiveAdapter is string active ? layer.A(active).dtype : ScalarType.Float32;
        Device device = layer.ActiveAdapter is string a ? layer.A(a).device : CPU;
        using var noGrad = no_grad();
        using Tensor? bias = frozen.DenseBias(ScalarType.Float32);
        Linear linear = nn.Linear(frozen.InFeatures, frozen.OutFeatures, hasBias: bias is not null, device: device, dtype: dtype);
        linear.weight!.copy_(weight);
        if (bias is not null) linear.bias!.copy_(bias);
        foreach (Parameter p in linear.parameters()) p.requires_grad = false;
        return linear;
    }

    private static List<Site> Sites(nn.Module model)
    {
        var sites = new List<Site>();
        // TorchSharp's named_modules() omits the root itself: add it.
        foreach ((string parentName, nn.Module parent) in model.named_modules().Prepend((string.Empty, model)))
        {
            if (parent is LoRALinear) continue;
            foreach ((string childName, nn.Module child) in parent.named_children())
            {
                if (child is LoRALinear layer) sites.Add(new Site(parentName.Length == 0 ? childName : parentName + "." + childName, childName, parent, layer));
            }
        }

        return sites;
    }

    private sealed record Site(string Name, string ChildName, nn.Module Parent, LoRALinear Layer);
}

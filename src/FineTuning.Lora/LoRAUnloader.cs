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

        // Merge everything first so that a refused (non-finite) merge leaves the model as it was.
        var dense = new Dictionary<LoRALinear, Linear>();
        var merged = new List<LoRALinear>();
        try
        {
            foreach (Site s in sites.Where(_ => merge))
            {
                if (!s.Layer.CanMerge)
                {
                    dense[s.Layer] = Densify(s, options.SafeMerge);
                }
                else if (s.Layer.ActiveAdapter is not null)
                {
                    s.Layer.Merge(options.SafeMerge);
                    merged.Add(s.Layer);
                }
            }
        }
        catch (InvalidOperationException e)
        {
            foreach (LoRALinear layer in merged) layer.Unmerge();
            foreach (Linear linear in dense.Values) linear.Dispose();
            throw new InvalidOperationException($"Merging the adapters failed; the model is unchanged: {e.Message}", e);
        }

        foreach (Site s in sites)
        {
            if (!merge) s.Layer.Unmerge();
            nn.Module<Tensor, Tensor> replacement = dense.TryGetValue(s.Layer, out Linear? d) ? d : s.Layer.ReleaseBaseLayer();
            ModuleSurgery.Replace(s.Parent, s.ChildName, s.Layer, replacement);
            s.Layer.Dispose();
        }
    }

    private static Linear Densify(Site s, bool safe)
    {
        LoRALinear layer = s.Layer;
        var frozen = (IFrozenLinear)layer.BaseLayer;
        ScalarType dtype = layer.ActiveAdapter is string active ? layer.A(active).dtype : ScalarType.Float32;
        Device device = layer.ActiveAdapter is string a ? layer.A(a).device : CPU;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        Tensor weight = layer.MergedDenseWeight();
        Tensor? bias = frozen.DenseBias(ScalarType.Float32);
        if (safe && !weight.isfinite().all().item<bool>())
        {
            throw new InvalidOperationException($"Merging into \"{s.Name}\" would make the weight non-finite.");
        }

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

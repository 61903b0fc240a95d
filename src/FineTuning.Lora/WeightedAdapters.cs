using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Lora;

/// <summary>PEFT's <c>LoraModel.add_weighted_adapter</c> for linear layers (combination types linear, cat and svd).</summary>
internal static class WeightedAdapters
{
    public static void Add(nn.Module model, IReadOnlyList<string> adapters, IReadOnlyList<double> weights, string adapterName,
        AdapterCombination combination, int? svdRank, double? svdClamp)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(adapters);
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentException.ThrowIfNullOrWhiteSpace(adapterName);
        if (adapters.Count == 0 || adapters.Count != weights.Count)
            throw new ArgumentException($"Give one weight per adapter (adapters: {adapters.Count}, weights: {weights.Count}).", nameof(weights));
        if (weights.Any(w => !double.IsFinite(w))) throw new ArgumentException("Every weight must be a finite number.", nameof(weights));
        if (adapterName.Contains('.', StringComparison.Ordinal)) throw new ArgumentException($"The adapter name must contain no '.' (was \"{adapterName}\").", nameof(adapterName));
        if (svdRank is < 1) throw new ArgumentOutOfRangeException(nameof(svdRank), svdRank, "svd_rank must be at least 1.");
        if (svdClamp is { } c && !(c > 0 && c <= 1)) throw new ArgumentOutOfRangeException(nameof(svdClamp), svdClamp, "svd_clamp is a quantile in (0, 1].");
        var layers = LoRA.Layers(model);
        if (layers.Count == 0) throw new InvalidOperationException("The model has no LoRA layers; apply a LoRAAdapter (WithLoRA) first.");
        if (layers.Any(l => l.Layer.AdapterNames.Contains(adapterName)))
            throw new ArgumentException($"An adapter named \"{adapterName}\" already exists; delete it first or choose another name.", nameof(adapterName));
        if (layers.Any(l => l.Layer.MergedAdapters.Count > 0)) throw new InvalidOperationException("Unmerge the merged adapters before combining adapters.");

        var ranks = new List<int>();
        LoRAOptions? first = null;
        foreach (string adapter in adapters)
        {
            var holder = layers.FirstOrDefault(l => l.Layer.AdapterNames.Contains(adapter)).Layer
                ?? throw new ArgumentException($"No layer has an adapter named \"{adapter}\".", nameof(adapters));
            LoRAOptions? options = holder.OptionsOf(adapter);
            if (layers.Any(l => l.Layer.AdapterNames.Contains(adapter) && l.Layer.IsDoRA(adapter)))
                throw new NotSupportedException($"Combining DoRA adapters (\"{adapter}\") is not supported yet.");
            if (options is { RankPattern.Count: > 0 } or { AlphaPattern.Count: > 0 })
                throw new NotSupportedException($"Combining adapters with rank_pattern / alpha_pattern (\"{adapter}\") is not supported yet.");
            ranks.Add(options?.R ?? (int)holder.A(adapter).shape[0]);
            first ??= options;
        }
        // PEFT: one adapter is always combined linearly (exact: B A scaled by w s).
        if (adapters.Count == 1) combination = AdapterCombination.Linear;
        if (combination == AdapterCombination.Linear && ranks.Distinct().Count() > 1)
            throw new ArgumentException($"combination_type linear needs adapters of one rank (r: {string.Join(", ", ranks)}); use cat or svd.", nameof(adapters));
        int newRank = combination switch
        {
            AdapterCombination.Linear => ranks[0],
            AdapterCombination.Cat => ranks.Sum(),
            _ => svdRank ?? ranks.Max(),
        };

        // Compute every layer's matrices before changing anything.
        var plan = new List<(LoRALinear Layer, Tensor A, Tensor B)>();
        using var scope = NewDisposeScope();
        foreach ((string name, LoRALinear layer) in layers)
        {
            var present = adapters.Select((a, i) => (Adapter: a, Weight: weights[i])).Where(p => layer.AdapterNames.Contains(p.Adapter)).ToList();
            if (present.Count == 0) continue;
            if (combination == AdapterCombination.Svd && newRank > Math.Min(layer.InFeatures, layer.OutFeatures))
                throw new ArgumentException($"svd_rank {newRank} exceeds the smaller dimension of \"{name}\" ({layer.OutFeatures} x {layer.InFeatures}).", nameof(svdRank));
            (Tensor a, Tensor b) = combination switch
            {
                AdapterCombination.Linear => Linear(layer, present, name),
                AdapterCombination.Cat => Cat(layer, present, newRank),
                _ => Svd(layer, present, newRank, svdClamp),
            };
            plan.Add((layer, a, b));
        }

        LoRAOptions recorded = (first ?? new LoRAOptions()).Clone();
        recorded.R = newRank;
        recorded.Alpha = newRank; // scale 1, as PEFT sets lora_alpha = r (and use_rslora off, PEFT's fix for overscaled rsLoRA sources)
        recorded.UseRsLoRA = false;
        recorded.UseDoRA = false;
        recorded.AdapterName = adapterName;
        recorded.InitLoraWeights = LoRAInit.Default;
        recorded.RankPattern.Clear();
        recorded.AlphaPattern.Clear();
        recorded.LayersToTransform.Clear();
        recorded.LayersPattern.Clear();
        recorded.Targets = LoRATargets.Exact(layers.Where(l => plan.Any(p => p.Layer == l.Layer)).Select(l => l.Name).ToArray());
        using var generator = new Generator(recorded.Seed);
        foreach ((LoRALinear layer, Tensor a, Tensor b) in plan)
        {
            string? active = layer.ActiveAdapter;
            layer.AddAdapter(adapterName, newRank, 1.0, recorded.Dropout, generator);
            layer.RecordOptions(adapterName, recorded);
            using (no_grad())
            {
                layer.A(adapterName).copy_(a);
                layer.B(adapterName).copy_(b);
            }
            // PEFT freezes the combined adapter and leaves the active adapter as it was.
            layer.A(adapterName).requires_grad = false;
            layer.B(adapterName).requires_grad = false;
            layer.SetActiveAdapter(active);
        }
    }

    private static ScalarType Wide(LoRALinear layer, string adapter) => DoRAMath.Wide(layer.A(adapter).dtype);

    private static (Tensor A, Tensor B) Linear(LoRALinear layer, List<(string Adapter, double Weight)> present, string name)
    {
        Tensor? a = null, b = null;
        foreach ((string adapter, double weight) in present)
        {
            double product = weight * layer.Scaling(adapter);
            if (product < 0)
                throw new ArgumentException($"combination_type linear takes sqrt(weight x scaling), which is negative for \"{adapter}\" in \"{name}\" ({product}); use cat or svd for negative weights.");
            double root = Math.Sqrt(product);
            ScalarType wide = Wide(layer, adapter);
            Tensor ai = layer.A(adapter).detach().to(wide).mul(root), bi = layer.B(adapter).detach().to(wide).mul(root);
            a = a is null ? ai : a.add(ai);
            b = b is null ? bi : b.add(bi);
        }
        return (a!, b!);
    }

    private static (Tensor A, Tensor B) Cat(LoRALinear layer, List<(string Adapter, double Weight)> present, int newRank)
    {
        ScalarType wide = Wide(layer, present[0].Adapter);
        Tensor a = cat(present.Select(p => layer.A(p.Adapter).detach().to(wide).mul(p.Weight * layer.Scaling(p.Adapter))).ToList(), 0);
        Tensor b = cat(present.Select(p => layer.B(p.Adapter).detach().to(wide)).ToList(), 1);
        // Adapters missing from this layer leave their rows of A and columns of B zero (PEFT fills the leading part).
        long filled = a.shape[0];
        if (filled == newRank) return (a, b);
        return (cat(new[] { a, zeros(new[] { newRank - filled, a.shape[1] }, wide) }, 0), cat(new[] { b, zeros(new[] { b.shape[0], newRank - filled }, wide) }, 1));
    }

    private static (Tensor A, Tensor B) Svd(LoRALinear layer, List<(string Adapter, double Weight)> present, int newRank, double? clamp)
    {
        ScalarType wide = Wide(layer, present[0].Adapter);
        Tensor? delta = null;
        foreach ((string adapter, double weight) in present)
        {
            // PEFT: task_arithmetic over get_delta_weight (s B A) with weights w * s.
            Tensor d = layer.B(adapter).detach().to(wide).matmul(layer.A(adapter).detach().to(wide)).mul(layer.Scaling(adapter) * weight * layer.Scaling(adapter));
            delta = delta is null ? d : delta.add(d);
        }
        (Tensor u, Tensor s, Tensor vh) = linalg.svd(delta!, fullMatrices: false);
        Tensor b = u.narrow(1, 0, newRank).mul(s.narrow(0, 0, newRank).unsqueeze(0));
        Tensor a = vh.narrow(0, 0, newRank);
        if (clamp is double q)
        {
            double hi = quantile(cat(new[] { b.flatten(), a.flatten() }, 0), q).item<double>();
            b = b.clamp(-hi, hi);
            a = a.clamp(-hi, hi);
        }
        return (a, b);
    }
}

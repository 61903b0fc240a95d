using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;

namespace FineTuning.Lora;

/// <summary>Operations over every LoRA layer of a model: disable, merge, unmerge, switch adapters, summarise.</summary>
public static class LoRA
{
    /// <summary>The LoRA layers of <paramref name="model"/> with their full module names.</summary>
    public static IReadOnlyList<(string Name, LoRALinear Layer)> Layers(torch.nn.Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model.named_modules().Where(m => m.module is LoRALinear).Select(m => (m.name, (LoRALinear)m.module)).ToList();
    }

    /// <summary>
    /// Runs the base model: adapters are bypassed until the returned token is disposed, which restores the
    /// previous state (scopes nest). Refused while adapters are merged (their update is inside the weights).
    /// </summary>
    public static IDisposable DisableAdapters(torch.nn.Module model)
    {
        IReadOnlyList<(string Name, LoRALinear Layer)> layers = RequireLayers(model);
        if (layers.Any(l => l.Layer.MergedAdapters.Count > 0))
            throw new InvalidOperationException("Adapters are merged into the weights; call LoRA.Unmerge before disabling them.");
        var tokens = layers.Select(l => l.Layer.Disable()).ToList();
        tokens.Add(TrainableTokens.TrainableTokenWrappers.Disable(model));
        return new Tokens(tokens);
    }

    /// <summary>Merges the active adapter into every base weight (fp32 arithmetic; <paramref name="safe"/> refuses non-finite results).</summary>
    public static void Merge(torch.nn.Module model, bool safe = true)
    {
        foreach ((string name, LoRALinear layer) in RequireLayers(model))
        {
            try
            {
                layer.Merge(safe);
            }
            catch (InvalidOperationException e)
            {
                throw new InvalidOperationException($"Merging into \"{name}\" failed: {e.Message}", e);
            }
        }
    }

    /// <summary>Subtracts merged adapters from every base weight again.</summary>
    public static void Unmerge(torch.nn.Module model)
    {
        foreach ((_, LoRALinear layer) in RequireLayers(model)) layer.Unmerge();
    }

    /// <summary>
    /// PEFT's <c>merge_and_unload</c>: merges the active adapter into every base weight (fp32 arithmetic) and replaces each
    /// <see cref="LoRALinear"/> by a plain <c>Linear</c>, so the model is the original architecture again: its state-dict
    /// keys are the base model's, and it saves (e.g. <c>HfCheckpoint.Save</c>) like a model that was never adapted.
    /// Adapters other than the active one are dropped. A quantized base (QLoRA) is merged only with
    /// <see cref="MergeOptions.DequantizeQuantizedBase"/>: it becomes a dense <c>Linear</c> holding the dequantized
    /// weight plus the update.
    /// </summary>
    /// <param name="model">The model holding LoRA layers; changed in place.</param>
    /// <param name="options">Merge options; null uses the defaults.</param>
    /// <returns><paramref name="model"/>, for chaining.</returns>
    /// <exception cref="InvalidOperationException">The model has no LoRA layers, a base is quantized without the opt-in,
    /// or (with <see cref="MergeOptions.SafeMerge"/>) a merge would produce NaN or infinity; the model is then unchanged.</exception>
    public static torch.nn.Module MergeAndUnload(torch.nn.Module model, MergeOptions? options = null)
    {
        LoRAUnloader.Run(model, merge: true, options ?? new MergeOptions());
        TrainableTokens.TrainableTokenWrappers.Unload(model, merge: true);
        return model;
    }

    /// <summary>
    /// PEFT's <c>unload</c>: removes every adapter without merging and puts each base layer back as it was (adapters that
    /// were merged with <see cref="Merge"/> are subtracted first), giving back the base model.
    /// </summary>
    /// <param name="model">The model holding LoRA layers; changed in place.</param>
    /// <returns><paramref name="model"/>, for chaining.</returns>
    /// <exception cref="InvalidOperationException">The model has no LoRA layers.</exception>
    public static torch.nn.Module Unload(torch.nn.Module model)
    {
        LoRAUnloader.Run(model, merge: false, new MergeOptions());
        TrainableTokens.TrainableTokenWrappers.Unload(model, merge: false);
        return model;
    }

    /// <summary>Makes <paramref name="adapter"/> the active adapter of every LoRA layer that has it.</summary>
    public static void SetActiveAdapter(torch.nn.Module model, string adapter)
    {
        IReadOnlyList<(string Name, LoRALinear Layer)> layers = RequireLayers(model);
        if (!layers.Any(l => l.Layer.AdapterNames.Contains(adapter)))
            throw new ArgumentException($"No layer has an adapter named \"{adapter}\"; adapters: {string.Join(", ", layers.SelectMany(l => l.Layer.AdapterNames).Distinct())}.", nameof(adapter));
        foreach ((_, LoRALinear layer) in layers)
            layer.SetActiveAdapter(layer.AdapterNames.Contains(adapter) ? adapter : null);
    }

    /// <summary>
    /// PEFT's <c>add_weighted_adapter</c>: a new adapter <paramref name="adapterName"/> on every layer holding any of
    /// <paramref name="adapters"/>, combining them with <paramref name="weights"/> as <paramref name="combinationType"/> says
    /// (see <see cref="AdapterCombination"/> for the formulas). The new adapter has r = its rank and lora_alpha = r (scale 1,
    /// no rsLoRA), is frozen, and is not made active (call <see cref="SetActiveAdapter"/>); it saves like any other adapter.
    /// </summary>
    /// <param name="model">The model holding the adapters.</param>
    /// <param name="adapters">The adapters to combine.</param>
    /// <param name="weights">One weight per adapter.</param>
    /// <param name="adapterName">The new adapter's name.</param>
    /// <param name="combinationType">linear, cat or svd (PEFT's default: svd).</param>
    /// <param name="svdRank">svd: the rank of the result (default: the largest r of the adapters).</param>
    /// <param name="svdClamp">svd: clamp A and B to this quantile of their values (PEFT's <c>svd_clamp</c>); null: no clamping.</param>
    /// <exception cref="ArgumentException">An unknown adapter, a taken name, weights that do not fit, or ranks the combination cannot take.</exception>
    /// <exception cref="InvalidOperationException">The model has no LoRA layers, or adapters are merged.</exception>
    /// <exception cref="NotSupportedException">DoRA adapters or adapters with rank/alpha patterns (not supported yet).</exception>
    public static void AddWeightedAdapter(torch.nn.Module model, IReadOnlyList<string> adapters, IReadOnlyList<double> weights, string adapterName,
        AdapterCombination combinationType = AdapterCombination.Svd, int? svdRank = null, double? svdClamp = null) =>
        WeightedAdapters.Add(model, adapters, weights, adapterName, combinationType, svdRank, svdClamp);

    /// <summary>
    /// PEFT's <c>delete_adapter</c>: removes adapter <paramref name="adapter"/> from every layer and frees its weights. When it
    /// was active, the first remaining adapter becomes active; layers left without adapters run their base layer.
    /// </summary>
    /// <exception cref="ArgumentException">No layer has that adapter.</exception>
    /// <exception cref="InvalidOperationException">The model has no LoRA layers, or adapters are merged (nothing is deleted).</exception>
    public static void DeleteAdapter(torch.nn.Module model, string adapter)
    {
        IReadOnlyList<(string Name, LoRALinear Layer)> layers = RequireLayers(model);
        if (!layers.Any(l => l.Layer.AdapterNames.Contains(adapter)))
            throw new ArgumentException($"No layer has an adapter named \"{adapter}\"; adapters: {string.Join(", ", layers.SelectMany(l => l.Layer.AdapterNames).Distinct())}.", nameof(adapter));
        if (layers.Any(l => l.Layer.MergedAdapters.Count > 0)) throw new InvalidOperationException("Unmerge the merged adapters before deleting one.");
        foreach ((_, LoRALinear layer) in layers.Where(l => l.Layer.AdapterNames.Contains(adapter))) layer.DeleteAdapter(adapter);
        // One active adapter for the whole model, as PEFT keeps it: the first remaining one of the first layer that has any.
        if (layers.Select(l => l.Layer.ActiveAdapter).FirstOrDefault(a => a is not null) is { } next && layers.Any(l => l.Layer.ActiveAdapter != next))
            SetActiveAdapter(model, next);
    }

    /// <summary>Trainable and total parameter counts, printed as PEFT prints them.</summary>
    public static ParameterSummary Summary(torch.nn.Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        long trainable = 0, all = 0;
        foreach (var p in model.parameters())
        {
            all += p.numel();
            if (p.requires_grad) trainable += p.numel();
        }
        return new ParameterSummary(trainable, all);
    }

    private static IReadOnlyList<(string Name, LoRALinear Layer)> RequireLayers(torch.nn.Module model)
    {
        IReadOnlyList<(string Name, LoRALinear Layer)> layers = Layers(model);
        if (layers.Count == 0) throw new InvalidOperationException("The model has no LoRA layers; apply a LoRAAdapter (WithLoRA) first.");
        return layers;
    }

    private sealed class Tokens(List<IDisposable> tokens) : IDisposable
    {
        public void Dispose()
        {
            foreach (IDisposable t in tokens) t.Dispose();
            tokens.Clear();
        }
    }
}

using System;
using System.Collections.Generic;
using System.Linq;
using FineTuning.Adapters;
using TorchSharp;
using TorchSharp.Modules;

namespace FineTuning.Lora;

/// <summary>
/// Injects LoRA adapters into a model's targeted linear layers, freezes every other parameter except
/// <see cref="LoRAOptions.ModulesToSave"/>, and records what it did. Used by <c>WithLoRA</c>, or directly:
/// <c>new LoRAAdapter(options).Apply(model)</c>.
/// </summary>
public sealed class LoRAAdapter : IDisableableAdapter
{
    private readonly LoRAOptions _options;
    private readonly IQuantizationConfig? _quantization;

    /// <summary>Creates the adapter from a copy of <paramref name="options"/>.</summary>
    public LoRAAdapter(LoRAOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Clone();
    }

    /// <summary>
    /// LoRA over a base quantized by <paramref name="quantization"/> (QLoRA), for <see cref="LoRAInit.LoftQ"/>: the adapter
    /// quantizes the base itself, so that A and B can absorb the quantization error of each targeted layer. Targeted layers the
    /// quantization leaves dense start as <see cref="LoRAInit.Default"/>. Other initialisations work as after a separate
    /// quantization step.
    /// </summary>
    public LoRAAdapter(LoRAOptions options, IQuantizationConfig quantization)
        : this(options)
    {
        ArgumentNullException.ThrowIfNull(quantization);
        _quantization = quantization;
    }

    /// <summary>A copy of the options.</summary>
    public LoRAOptions Options => _options.Clone();

    /// <inheritdoc />
    /// <remarks>Disables every LoRA layer of the model (<see cref="LoRA.DisableAdapters"/>); refused while adapters are merged.</remarks>
    public IDisposable DisableAdapter(torch.nn.Module model) => LoRA.DisableAdapters(model);

    /// <inheritdoc />
    public IEnumerable<string> Validate(torch.nn.Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var problems = new List<string>(_options.Validate());
        if (_options.Targets is null) return problems;
        List<TargetModule> targets = FindTargets(model);
        if (targets.Count == 0)
        {
            string linears = string.Join(", ", model.named_modules().Where(m => m.module is Linear or LoRALinear or IFrozenLinear).Select(m => m.name).Take(40));
            string all = string.Join(", ", model.named_modules().Select(m => m.name).Where(n => n.Length > 0).Take(40));
            problems.Add($"No linear layer matches the LoRA targets ({_options.Targets}). Linear layers: [{linears}]. All modules: [{all}].");
        }
        foreach (TargetModule t in targets)
        {
            if (t.Module is LoRALinear existing)
            {
                if (existing.AdapterNames.Contains(_options.AdapterName))
                    problems.Add($"Module \"{t.Name}\" already has an adapter named \"{_options.AdapterName}\".");
                continue;
            }
            string? problem = ModuleSurgery.CheckReplaceable(t.Parent, t.ParentName, t.ChildName, t.Module, typeof(LoRALinear));
            if (problem is not null) problems.Add(problem);
        }
        problems.AddRange(InitProblems(targets));
        if (_quantization is not null) problems.AddRange(_quantization.CreateAdapter().Validate(model));
        foreach (string m in _options.ModulesToSave)
            if (!model.named_modules().Any(x => NameMatches(x.name, m)))
                problems.Add($"modules_to_save names \"{m}\", but no module has that name.");
        problems.AddRange(TrainableTokenProblems(model, targets));
        return problems;
    }

    /// <inheritdoc />
    public void Apply(torch.nn.Module model) => Apply(model, initialise: true);

    /// <summary>Applies the adapter; without <paramref name="initialise"/> A and B start as by default (a load overwrites them) and no base weight is rewritten.</summary>
    internal void Apply(torch.nn.Module model, bool initialise)
    {
        ArgumentNullException.ThrowIfNull(model);
        List<string> problems = Validate(model).ToList();
        if (problems.Count > 0) throw new Training.InvalidConfigurationException(problems);
        bool loftQ = initialise && _options.InitLoraWeights.IsLoftQ;
        // LoftQ needs each targeted layer's full-precision weight after the base is quantized.
        Dictionary<string, torch.Tensor> originals = loftQ
            ? FindTargets(model).Where(t => t.Module is Linear).ToDictionary(t => t.Name, t => ((Linear)t.Module).weight!.detach().clone(), StringComparer.Ordinal)
            : new Dictionary<string, torch.Tensor>(StringComparer.Ordinal);
        try
        {
            if (_quantization is not null) _quantization.CreateAdapter().Apply(model);
            foreach (Parameter p in model.parameters()) p.requires_grad = false;
            using var generator = new torch.Generator(_options.Seed);
            foreach (TargetModule t in FindTargets(model))
            {
                LoRALinear layer = t.Module as LoRALinear ?? Wrap(t);
                layer.AddAdapter(_options.AdapterName, _options.RankFor(t.Name), _options.ScalingFor(t.Name), _options.Dropout, generator, _options.UseDoRA,
                    initialise ? _options.InitLoraWeights : LoRAInit.Default);
                layer.RecordOptions(_options.AdapterName, _options);
                if (originals.TryGetValue(t.Name, out torch.Tensor? original) && !layer.CanMerge)
                    LoftQInit.Apply(layer, _options.AdapterName, original, _options.InitLoraWeights.Iterations);
            }
        }
        finally
        {
            foreach (torch.Tensor original in originals.Values) original.Dispose();
        }
        foreach ((string name, torch.nn.Module module) in model.named_modules())
            if (_options.ModulesToSave.Any(m => NameMatches(name, m)))
                foreach (Parameter p in module.parameters()) p.requires_grad = true;
        TrainableTokens.TrainableTokenWrappers.Apply(model, _options);
    }

    /// <summary>trainable_token_indices must name embeddings or linear layers that LoRA itself does not adapt.</summary>
    private IEnumerable<string> TrainableTokenProblems(torch.nn.Module model, List<TargetModule> loraTargets)
    {
        (List<TrainableTokens.TrainableTokenTargets.Target> tokens, List<string> problems) = TrainableTokens.TrainableTokenTargets.Resolve(model, _options);
        foreach (TrainableTokens.TrainableTokenTargets.Target t in tokens)
        {
            if (loraTargets.Any(l => l.Name == t.Name))
                problems.Add($"\"{t.Name}\" is both a LoRA target and in trainable_token_indices; exclude it from the LoRA targets.");
            if (_options.ModulesToSave.Any(m => NameMatches(t.Name, m)))
                problems.Add($"\"{t.Name}\" is both in modules_to_save and in trainable_token_indices; choose one.");
        }
        return problems;
    }

    private static LoRALinear Wrap(TargetModule t)
    {
        LoRALinear wrapper = t.Module is Linear linear ? new LoRALinear(linear) : new LoRALinear((IFrozenLinear)t.Module);
        ModuleSurgery.Replace(t.Parent, t.ChildName, t.Module, wrapper);
        return wrapper;
    }

    private List<TargetModule> FindTargets(torch.nn.Module model) =>
        // Find skips candidates inside another candidate: the base_layer and the lora_A / lora_B linears of an existing
        // LoRALinear are never targets of their own (a second adapter over AllLinear wraps the same layers again).
        _options.Targets.ModuleTargets.Find(model, m => m is Linear or LoRALinear or IFrozenLinear)
            .Where(t => !_options.ModulesToSave.Any(m => NameMatches(t.Name, m)) && PeftPatterns.InLayers(_options, t.Name))
            .ToList();

    /// <summary>PiSSA and OLoRA rewrite a dense base weight from its first r singular vectors / QR columns.</summary>
    private IEnumerable<string> InitProblems(List<TargetModule> targets)
    {
        LoRAInit init = _options.InitLoraWeights;
        if (init is null || !init.ChangesBase) yield break;
        if (init.IsLoftQ)
        {
            if (_quantization is null) yield return "init_lora_weights \"loftq\" needs the quantization to apply: use WithQLoRA, or new LoRAAdapter(options, quantization).";
            if (_options.UseDoRA) yield return "init_lora_weights \"loftq\" with use_dora is not supported yet.";
            yield break;
        }
        foreach (TargetModule t in targets)
        {
            LoRALinear? wrapped = t.Module as LoRALinear;
            if (t.Module is not Linear && wrapped is not { CanMerge: true })
                yield return $"init_lora_weights \"{init.PeftValue}\" rewrites the base weight, but \"{t.Name}\" is not a dense Linear (a quantized base: use LoRAInit.LoftQ).";
            else if (wrapped is { MergedAdapters.Count: > 0 })
                yield return $"init_lora_weights \"{init.PeftValue}\" rewrites the base weight of \"{t.Name}\", which has merged adapters: unmerge them first.";
            long inFeatures = wrapped?.InFeatures ?? ((Linear)t.Module).weight!.shape[1];
            long outFeatures = wrapped?.OutFeatures ?? ((Linear)t.Module).weight!.shape[0];
            int r = _options.RankFor(t.Name);
            if (r > Math.Min(inFeatures, outFeatures))
                yield return $"init_lora_weights \"{init.PeftValue}\" takes r = {r} singular directions of \"{t.Name}\" ({outFeatures} x {inFeatures}): r must be at most {Math.Min(inFeatures, outFeatures)}.";
        }
    }

    internal static bool NameMatches(string name, string pattern) => ModuleTargets.NameMatches(name, pattern);

}

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

    /// <summary>Creates the adapter from a copy of <paramref name="options"/>.</summary>
    public LoRAAdapter(LoRAOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Clone();
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
        List<Target> targets = FindTargets(model);
        if (targets.Count == 0)
        {
            string linears = string.Join(", ", model.named_modules().Where(m => m.module is Linear or LoRALinear or IFrozenLinear).Select(m => m.name).Take(40));
            string all = string.Join(", ", model.named_modules().Select(m => m.name).Where(n => n.Length > 0).Take(40));
            problems.Add($"No linear layer matches the LoRA targets ({_options.Targets}). Linear layers: [{linears}]. All modules: [{all}].");
        }
        foreach (Target t in targets)
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
        foreach (string m in _options.ModulesToSave)
            if (!model.named_modules().Any(x => NameMatches(x.name, m)))
                problems.Add($"modules_to_save names \"{m}\", but no module has that name.");
        return problems;
    }

    /// <inheritdoc />
    public void Apply(torch.nn.Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        List<string> problems = Validate(model).ToList();
        if (problems.Count > 0) throw new Training.InvalidConfigurationException(problems);
        foreach (Parameter p in model.parameters()) p.requires_grad = false;
        using var generator = new torch.Generator(_options.Seed);
        foreach (Target t in FindTargets(model))
        {
            LoRALinear layer = t.Module as LoRALinear ?? Wrap(t);
            layer.AddAdapter(_options.AdapterName, _options.R, _options.Scaling, _options.Dropout, generator, _options.UseDoRA);
            layer.RecordOptions(_options.AdapterName, _options);
        }
        foreach ((string name, torch.nn.Module module) in model.named_modules())
            if (_options.ModulesToSave.Any(m => NameMatches(name, m)))
                foreach (Parameter p in module.parameters()) p.requires_grad = true;
    }

    private static LoRALinear Wrap(Target t)
    {
        LoRALinear wrapper = t.Module is Linear linear ? new LoRALinear(linear) : new LoRALinear((IFrozenLinear)t.Module);
        ModuleSurgery.Replace(t.Parent, t.ChildName, t.Module, wrapper);
        return wrapper;
    }

    private List<Target> FindTargets(torch.nn.Module model)
    {
        var targets = new List<Target>();
        // TorchSharp's named_modules() omits the root itself (PyTorch's yields it as ""): add it.
        foreach ((string parentName, torch.nn.Module parent) in model.named_modules().Prepend((string.Empty, model)))
        {
            if (parent is LoRALinear) continue; // its base_layer is not a target of its own
            foreach ((string childName, torch.nn.Module child) in parent.named_children())
            {
                if (child is not (Linear or LoRALinear or IFrozenLinear)) continue;
                string name = parentName.Length == 0 ? childName : parentName + "." + childName;
                if (_options.Targets.Matches(name) && !_options.ModulesToSave.Any(m => NameMatches(name, m)))
                    targets.Add(new Target(name, parentName, childName, parent, child));
            }
        }
        return targets;
    }

    internal static bool NameMatches(string name, string pattern) => ModuleTargets.NameMatches(name, pattern);

    private sealed record Target(string Name, string ParentName, string ChildName, torch.nn.Module Parent, torch.nn.Module Module);
}

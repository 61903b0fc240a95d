using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json.Nodes;
using FineTuning.Adapters;
using FineTuning.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuning.Lora.IA3;

/// <summary>
/// Wraps the targeted linear layers in <see cref="IA3Linear"/> (vectors of ones: the model's outputs are unchanged until
/// training moves them), freezes every other parameter, and saves and reloads through <see cref="AdapterFiles"/> in PEFT's
/// IA3 layout (<c>peft_type: "IA3"</c>, keys <c>base_model.model.&lt;module&gt;.ia3_l</c>). Used by <c>WithIA3</c>, or
/// directly: <c>new IA3Adapter(options).Apply(model)</c>. One IA3 adapter ("default") per model. It can be switched off
/// (<see cref="DisableAdapters"/>), so forgetting and the prompting baseline measure the base model without a second copy.
/// </summary>
public sealed class IA3Adapter : IPersistentAdapter, IDisableableAdapter
{
    /// <summary>PEFT's <c>peft_type</c> for (IA)³.</summary>
    public const string PeftTypeName = "IA3";

    private const string VectorKey = ".ia3_l";
    private readonly IA3Options _options;

    /// <summary>Creates the adapter from a copy of <paramref name="options"/>.</summary>
    public IA3Adapter(IA3Options options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Clone();
    }

    /// <summary>Reads IA3 adapter folders (for <see cref="AdapterFiles.Load"/>; <c>PeftAdapter.Load</c> uses it itself).</summary>
    public static IAdapterFormat Format { get; } = new IA3Format();

    /// <summary>A copy of the options.</summary>
    public IA3Options Options => _options.Clone();

    /// <inheritdoc />
    public string PeftType => PeftTypeName;

    /// <inheritdoc />
    public IEnumerable<string> Validate(nn.Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var problems = new List<string>(_options.Validate());
        if (_options.Targets is null) return problems;
        IReadOnlyList<TargetModule> targets = _options.Targets.Find(model, IsCandidate);
        if (targets.Count == 0)
        {
            string linears = string.Join(", ", ModuleTargets.AllLinear.Find(model, IsCandidate).Select(t => t.Name).Take(40));
            problems.Add($"No linear layer matches the IA3 targets ({_options.Targets}). Linear layers: [{linears}].");
        }
        foreach (TargetModule t in targets)
        {
            if (t.Module is IA3Linear) problems.Add($"Module \"{t.Name}\" already has an IA3 adapter; one IA3 adapter per model is supported.");
            else if (t.Module is LoRALinear) problems.Add($"Module \"{t.Name}\" has LoRA adapters; IA3 and LoRA on one layer is not supported yet.");
            else if (ModuleSurgery.CheckReplaceable(t.Parent, t.ParentName, t.ChildName, t.Module, typeof(IA3Linear)) is { } problem) problems.Add(problem);
        }
        if (_options.FeedforwardModules is { } feedforward)
        {
            foreach (TargetModule f in feedforward.Find(model, IsCandidate).Where(f => !_options.Targets.Matches(f.Name)))
                problems.Add($"feedforward_modules selects \"{f.Name}\", which is not a target (feedforward modules must be a subset of target_modules).");
        }
        return problems;
    }

    /// <inheritdoc />
    /// <exception cref="InvalidConfigurationException">Validate found problems (all are listed).</exception>
    public void Apply(nn.Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        List<string> problems = Validate(model).ToList();
        if (problems.Count > 0) throw new InvalidConfigurationException(problems);
        foreach (Parameter p in model.parameters()) p.requires_grad = false;
        foreach (TargetModule t in _options.Targets.Find(model, IsCandidate))
        {
            bool feedforward = _options.FeedforwardModules?.Matches(t.Name) ?? false;
            var layer = new IA3Linear((nn.Module<Tensor, Tensor>)t.Module, feedforward);
            if (!t.Module.training) layer.eval(); // a new module is in training mode: follow the layer it replaces
            ModuleSurgery.Replace(t.Parent, t.ChildName, t.Module, layer);
        }
    }

    /// <inheritdoc />
    public JsonObject ToConfig()
    {
        var config = new JsonObject
        {
            ["fan_in_fan_out"] = false,
            ["init_ia3_weights"] = true,
            ["modules_to_save"] = null,
        };
        _options.Targets.WriteTo(config);
        if (_options.FeedforwardModules is { } feedforward) feedforward.WriteTo(config, "feedforward_modules");
        else config["feedforward_modules"] = new JsonArray(); // PEFT reads null as "the model type's defaults"
        return config;
    }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, Tensor> AdapterState(nn.Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return Layers(model).ToDictionary(l => l.Name + VectorKey, l => (Tensor)l.Layer.Vector, StringComparer.Ordinal);
    }

    /// <inheritdoc />
    /// <remarks>Disables every IA3 layer of the model (<see cref="DisableAdapters"/>); refused while vectors are merged.</remarks>
    public IDisposable DisableAdapter(nn.Module model) => DisableAdapters(model);

    /// <summary>
    /// Runs the base model (PEFT's <c>disable_adapter()</c>): every IA3 layer calls its base layer unscaled until the
    /// returned token is disposed, which restores the previous state (scopes nest).
    /// </summary>
    /// <exception cref="InvalidOperationException">The model has no IA3 layer, or a vector is merged into its weights (call <see cref="Unmerge"/> first).</exception>
    public static IDisposable DisableAdapters(nn.Module model)
    {
        IReadOnlyList<(string Name, IA3Linear Layer)> layers = Layers(model);
        if (layers.Count == 0) throw new InvalidOperationException("The model has no IA3 layers to disable.");
        if (layers.FirstOrDefault(l => l.Layer.IsMerged) is { Layer: not null } merged)
            throw new InvalidOperationException($"The IA3 vector of \"{merged.Name}\" is merged into its weights; call IA3Adapter.Unmerge before disabling the adapter.");
        foreach ((_, IA3Linear layer) in layers) layer.EnterDisabled();
        return new DisabledScope(layers);
    }

    /// <summary>Merges every IA3 vector of <paramref name="model"/> into its base weights (see <see cref="IA3Linear.Merge"/>); checks all layers first.</summary>
    /// <exception cref="NotSupportedException">A base is not a <c>Linear</c> (nothing is changed).</exception>
    public static void Merge(nn.Module model)
    {
        IReadOnlyList<(string Name, IA3Linear Layer)> layers = Layers(model);
        if (layers.FirstOrDefault(l => l.Layer.BaseLayer is not Linear) is { Layer: not null } quantized)
            throw new NotSupportedException($"Merging IA3 into \"{quantized.Name}\" ({quantized.Layer.BaseLayer.GetType().Name}) is not supported yet; only into Linear layers.");
        foreach ((_, IA3Linear layer) in layers.Where(l => !l.Layer.IsMerged)) layer.Merge();
    }

    /// <summary>Divides every merged IA3 vector of <paramref name="model"/> out of its base weights again.</summary>
    public static void Unmerge(nn.Module model)
    {
        foreach ((_, IA3Linear layer) in Layers(model).Where(l => l.Layer.IsMerged)) layer.Unmerge();
    }

    /// <summary>The IA3 layers of <paramref name="model"/> with their full module names.</summary>
    public static IReadOnlyList<(string Name, IA3Linear Layer)> Layers(nn.Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model.named_modules().Where(m => m.module is IA3Linear).Select(m => (m.name, (IA3Linear)m.module)).ToList();
    }

    private static bool IsCandidate(nn.Module m) => m is Linear or IFrozenLinear or IA3Linear or LoRALinear;

    private sealed class DisabledScope(IReadOnlyList<(string Name, IA3Linear Layer)> layers) : IDisposable
    {
        private bool _closed;

        public void Dispose()
        {
            if (_closed) return;
            _closed = true;
            foreach ((_, IA3Linear layer) in layers) layer.ExitDisabled();
        }
    }
}

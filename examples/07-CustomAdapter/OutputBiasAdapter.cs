using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json.Nodes;
using FineTuning.Adapters;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuning.Examples.CustomAdapter;

/// <summary>
/// A new adapter kind in under 100 lines, outside the FineTuning packages: every targeted linear layer gets a learned
/// bias on its output, <c>y = W x + b</c>, with b starting at zero (so the model is unchanged until training moves it).
/// It saves and reloads through <see cref="AdapterFiles"/> as <c>peft_type: "OUTPUT_BIAS"</c>.
/// </summary>
internal sealed class OutputBiasAdapter(ModuleTargets targets) : IPersistentAdapter
{
    /// <summary>Re-creates the adapter from its adapter_config.json (for <see cref="AdapterFiles.Load"/>).</summary>
    public static IAdapterFormat Format { get; } = new OutputBiasFormat();

    public string PeftType => "OUTPUT_BIAS";

    public IEnumerable<string> Validate(nn.Module model)
    {
        IReadOnlyList<TargetModule> found = Find(model);
        if (found.Count == 0) yield return $"No linear layer matches the targets ({targets}).";
        foreach (TargetModule t in found)
        {
            if (t.Module is BiasedLinear) yield return $"\"{t.Name}\" already has an output bias.";
            else if (ModuleSurgery.CheckReplaceable(t.Parent, t.ParentName, t.ChildName, t.Module, typeof(BiasedLinear)) is { } problem) yield return problem;
        }
    }

    public void Apply(nn.Module model)
    {
        List<string> problems = Validate(model).ToList();
        if (problems.Count > 0) throw new InvalidOperationException(string.Join(" ", problems));
        foreach (Parameter p in model.parameters()) p.requires_grad = false; // freeze the base: the trainer trains what requires grad
        foreach (TargetModule t in Find(model)) ModuleSurgery.Replace(t.Parent, t.ChildName, t.Module, new BiasedLinear((Linear)t.Module));
    }

    public JsonObject ToConfig()
    {
        var config = new JsonObject();
        targets.WriteTo(config); // target_modules (+ exclude_modules), as PEFT writes them
        return config;
    }

    public IReadOnlyDictionary<string, Tensor> AdapterState(nn.Module model) => model.named_modules()
        .Where(m => m.module is BiasedLinear)
        .ToDictionary(m => m.name + ".output_bias", m => (Tensor)((BiasedLinear)m.module).Bias);

    // BiasedLinear counts as a candidate so that the Linear it wraps is skipped and a second Apply is refused.
    private IReadOnlyList<TargetModule> Find(nn.Module model) => targets.Find(model, m => m is Linear or BiasedLinear);

    private sealed class OutputBiasFormat : IAdapterFormat
    {
        public string PeftType => "OUTPUT_BIAS";

        public IPersistentAdapter FromConfig(JsonObject config, string configPath) => new OutputBiasAdapter(ModuleTargets.ReadFrom(config, configPath));
    }
}

/// <summary>The layer: the frozen linear layer plus a trainable bias. Field names are the state-dict keys.</summary>
internal sealed class BiasedLinear : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006, SA1300 // state-dict names
    private readonly Linear base_layer;
    private readonly Parameter output_bias;
#pragma warning restore IDE1006, SA1300

    public BiasedLinear(Linear baseLayer)
        : base(nameof(BiasedLinear))
    {
        Tensor weight = baseLayer.weight!; // same dtype and device as the weight it adds to
        // A Parameter takes over its tensor's dispose scope: detach it, or a caller's scope would free the new weight.
        output_bias = new Parameter(zeros(weight.shape[0], dtype: weight.dtype, device: weight.device).DetachFromDisposeScope());
        base_layer = baseLayer;
        RegisterComponents();
        if (!baseLayer.training) eval(); // a new module starts in training mode: follow the layer it replaces
    }

    public Parameter Bias => output_bias;

    public override Tensor forward(Tensor input)
    {
        using Tensor output = base_layer.call(input);
        return output.add(output_bias);
    }
}

using System.Collections.Generic;
using System.Linq;
using System.Text.Json.Nodes;
using FineTuning.Adapters;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuning.Core.Tests.Adapters;

/// <summary>A third-party adapter written against Core alone (BitFit: only the biases of the targeted linear layers train).</summary>
internal sealed class BiasOnlyAdapter(ModuleTargets targets) : IPersistentAdapter
{
    public static IAdapterFormat Format { get; } = new BiasOnlyFormat();

    public string PeftType => "BITFIT";

    public IEnumerable<string> Validate(nn.Module model)
    {
        if (targets.Find(model, m => m is Linear).Count == 0) yield return $"No linear layer matches {targets}.";
    }

    public void Apply(nn.Module model)
    {
        foreach (Parameter p in model.parameters()) p.requires_grad = false;
        foreach (TargetModule t in targets.Find(model, m => m is Linear)) ((Linear)t.Module).bias!.requires_grad = true;
    }

    public JsonObject ToConfig()
    {
        var config = new JsonObject();
        targets.WriteTo(config);
        return config;
    }

    public IReadOnlyDictionary<string, Tensor> AdapterState(nn.Module model) =>
        targets.Find(model, m => m is Linear).ToDictionary(t => t.Name + ".bias", t => (Tensor)((Linear)t.Module).bias!);

    private sealed class BiasOnlyFormat : IAdapterFormat
    {
        public string PeftType => "BITFIT";

        public IPersistentAdapter FromConfig(JsonObject config, string configPath) => new BiasOnlyAdapter(ModuleTargets.ReadFrom(config, configPath));
    }
}

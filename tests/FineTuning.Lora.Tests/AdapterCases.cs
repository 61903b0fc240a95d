using System;
using System.Collections.Generic;
using System.Linq;
using FineTuning.Adapters;
using FineTuning.Lora.IA3;
using FineTuning.Lora.Peft;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Lora.Tests;

/// <summary>
/// One adapter kind under the shared contract (<see cref="AdapterMatrixTests"/>), applied to <see cref="TinyBlock"/>.
/// A new adapter kind adds a case here, not new tests.
/// </summary>
/// <param name="Name">The case's name in test output.</param>
/// <param name="Create">A new adapter of this kind.</param>
/// <param name="Trainable">The parameter names that must be trainable on a TinyBlock after Apply, sorted.</param>
/// <param name="Perturb">Moves the adapter's parameters away from their identity initialisation (seeded).</param>
/// <param name="Save">Writes the adapter of a model to a folder (the adapter instance is the one applied).</param>
/// <param name="Load">Loads a saved folder onto a fresh model.</param>
/// <param name="LearningRate">A learning rate at which the kind learns the contract's toy task in a few steps.</param>
/// <param name="Merge">Merges the adapter into the base weights.</param>
/// <param name="Unmerge">Takes it out again.</param>
public sealed record AdapterCase(
    string Name,
    Func<IModelAdapter> Create,
    string[] Trainable,
    Action<nn.Module, ulong> Perturb,
    Action<nn.Module, string, IModelAdapter> Save,
    Action<nn.Module, string> Load,
    double LearningRate,
    Action<nn.Module> Merge,
    Action<nn.Module> Unmerge)
{
    /// <summary>Every case by name.</summary>
    public static IReadOnlyDictionary<string, AdapterCase> All { get; } = LoRACases().Concat(IA3Cases()).ToDictionary(c => c.Name, StringComparer.Ordinal);

    /// <summary>The case names, for <c>[MemberData]</c>.</summary>
    public static TheoryData<string> Names
    {
        get
        {
            var data = new TheoryData<string>();
            foreach (string name in All.Keys) data.Add(name);
            return data;
        }
    }

    /// <inheritdoc />
    public override string ToString() => Name;

    private static IEnumerable<AdapterCase> LoRACases()
    {
        foreach (string kind in AdapterContractTests.Kinds)
        {
            string[] parts = AdapterContractTests.OptionsFor(kind).UseDoRA
                ? new[] { "lora_A.default.weight", "lora_B.default.weight", "lora_magnitude_vector.default.weight" }
                : new[] { "lora_A.default.weight", "lora_B.default.weight" };
            yield return new AdapterCase(kind, () => new LoRAAdapter(AdapterContractTests.OptionsFor(kind)), ParameterNames("q_proj", "v_proj", parts),
                AdapterContractTests.Perturb, (model, dir, _) => PeftAdapter.Save(model, dir), (model, dir) => PeftAdapter.Load(model, dir), 1e-2,
                model => LoRA.Merge(model), LoRA.Unmerge);
        }
    }

    private static IEnumerable<AdapterCase> IA3Cases()
    {
        yield return IA3Case("ia3", null);
        yield return IA3Case("ia3-feedforward", ModuleTargets.Names("v_proj"));
    }

    private static AdapterCase IA3Case(string name, ModuleTargets? feedforward) => new(
        name,
        () => new IA3Adapter(new IA3Options { Targets = ModuleTargets.Names("q_proj", "v_proj"), FeedforwardModules = feedforward }),
        ParameterNames("q_proj", "v_proj", new[] { "ia3_l.default" }),
        PerturbIA3,
        (model, dir, adapter) => AdapterFiles.Save(model, dir, (IPersistentAdapter)adapter),
        (model, dir) => PeftAdapter.Load(model, dir), // dispatches on peft_type
        0.15,
        IA3Adapter.Merge,
        IA3Adapter.Unmerge);

    /// <summary>Sets every IA3 vector to 1 + 0.1·N(0, 1).</summary>
    internal static void PerturbIA3(nn.Module model, ulong seed)
    {
        using var g = new Generator(seed);
        using var noGrad = no_grad();
        foreach ((_, IA3Linear layer) in IA3Adapter.Layers(model))
        {
            using Tensor r = randn(layer.Vector.shape, generator: g);
            layer.Vector.copy_(r.mul(0.1).add(1));
        }
    }

    private static string[] ParameterNames(string first, string second, string[] parts) =>
        new[] { first, second }.SelectMany(m => parts.Select(p => $"model.{m}.{p}")).Order(StringComparer.Ordinal).ToArray();
}

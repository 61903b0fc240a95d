using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using FineTuning.Adapters;
using FineTuning.Testing;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Lora.Tests;

/// <summary>
/// The contract every adapter kind keeps, run over <see cref="AdapterCase.All"/> (LoRA variants and IA3): identity at
/// initialisation, only adapter parameters train, save then load gives identical outputs, training lowers the loss and
/// leaves the base alone, merge then unmerge, disabling gives the base model, no tensor leaks. LoRA-only behaviour is in
/// <see cref="AdapterContractTests"/>.
/// </summary>
public sealed class AdapterMatrixTests : IDisposable
{
    private readonly TempDirectory _dir = new("adapter-matrix");

    public void Dispose() => _dir.Dispose();

    private static Tensor Input(int seed)
    {
        using var g = new Generator((ulong)seed);
        return randn(new long[] { 5, 8 }, generator: g);
    }

    private static string[] Trainable(nn.Module model) =>
        model.named_parameters().Where(p => p.parameter.requires_grad).Select(p => p.name).Order(StringComparer.Ordinal).ToArray();

    [Theory]
    [MemberData(nameof(AdapterCase.Names), MemberType = typeof(AdapterCase))]
    public void Apply_AtInit_IsTheIdentity(string kind)
    {
        using var scope = NewDisposeScope();
        using var model = new TinyBlock();
        model.eval();
        Tensor before = model.call(Input(1));
        AdapterCase.All[kind].Create().Apply(model);
        model.eval();
        Assert.True(model.call(Input(1)).equal(before).all().item<bool>(), "a fresh adapter must leave the output bit-identical");
    }

    [Theory]
    [MemberData(nameof(AdapterCase.Names), MemberType = typeof(AdapterCase))]
    public void Apply_OnlyAdapterParametersTrain(string kind)
    {
        using var model = new TinyBlock();
        AdapterCase.All[kind].Create().Apply(model);
        Assert.Equal(AdapterCase.All[kind].Trainable, Trainable(model));
        Assert.Contains(model.named_parameters(), p => p.name == "model.q_proj.base_layer.weight" && !p.parameter.requires_grad);
    }

    [Theory]
    [MemberData(nameof(AdapterCase.Names), MemberType = typeof(AdapterCase))]
    public void SaveThenLoadOntoFreshModel_GivesIdenticalOutputs_AndTheSameTrainableSet(string kind)
    {
        using var scope = NewDisposeScope();
        AdapterCase c = AdapterCase.All[kind];
        using var trained = new TinyBlock();
        IModelAdapter adapter = c.Create();
        adapter.Apply(trained);
        c.Perturb(trained, 7);
        trained.eval();
        Tensor expected = trained.call(Input(3));
        using var baseModel = new TinyBlock();
        baseModel.eval();
        Assert.False(baseModel.call(Input(3)).allclose(expected), "the perturbed adapter must change the output, or the round trip proves nothing");

        c.Save(trained, _dir.Path, adapter);
        using var fresh = new TinyBlock();
        c.Load(fresh, _dir.Path);
        fresh.eval();

        Assert.True(fresh.call(Input(3)).equal(expected).all().item<bool>(), "same weights, same operations: bit-identical outputs");
        Assert.Equal(c.Trainable, Trainable(fresh));
    }

    [Theory]
    [MemberData(nameof(AdapterCase.Names), MemberType = typeof(AdapterCase))]
    public void Merge_OutputEqualsAdapterOutput_AndUnmergeRestoresWeights(string kind)
    {
        using var scope = NewDisposeScope();
        AdapterCase c = AdapterCase.All[kind];
        using var model = new TinyBlock();
        c.Create().Apply(model);
        c.Perturb(model, 3);
        model.eval();
        Dictionary<string, Tensor> weights = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());
        Tensor adapted = model.call(Input(2));

        c.Merge(model);
        // float32: merging regroups the products of length-8 dot products, a few ulp (~1e-7 relative) apart.
        Assert.True(model.call(Input(2)).allclose(adapted, rtol: 1e-5, atol: 1e-6), "merged output equals adapter output");
        Assert.False(model.named_parameters().First(p => p.name == "model.q_proj.base_layer.weight").parameter.allclose(weights["model.q_proj.base_layer.weight"]));

        c.Unmerge(model);
        foreach ((string name, Parameter p) in model.named_parameters())
            Assert.True(p.allclose(weights[name], rtol: 0, atol: 1e-6), $"{name} restored");
        Assert.True(model.call(Input(2)).allclose(adapted, rtol: 1e-5, atol: 1e-6));
    }

    [Theory]
    [MemberData(nameof(AdapterCase.Names), MemberType = typeof(AdapterCase))]
    public void DisableAdapter_Perturbed_OutputIsTheBaseModelsBitForBit_NestedScopesRestore(string kind)
    {
        using var scope = NewDisposeScope();
        AdapterCase c = AdapterCase.All[kind];
        using var baseModel = new TinyBlock();
        baseModel.eval();
        Tensor expected = baseModel.call(Input(4));
        using var model = new TinyBlock();
        var adapter = Assert.IsAssignableFrom<IDisableableAdapter>(c.Create());
        adapter.Apply(model);
        c.Perturb(model, 5);
        model.eval();
        Tensor adapted = model.call(Input(4));
        Assert.False(adapted.allclose(expected), "the perturbed adapter must change the output, or disabling proves nothing");

        using (adapter.DisableAdapter(model))
        {
            // A disabled layer calls the very same base layer on the same weights: the same computation, bit for bit.
            Assert.True(model.call(Input(4)).equal(expected).all().item<bool>(), "disabled: the base model's output");
            using (adapter.DisableAdapter(model))
            {
            }
            Assert.True(model.call(Input(4)).equal(expected).all().item<bool>(), "still disabled after an inner scope closed");
        }

        Assert.True(model.call(Input(4)).equal(adapted).all().item<bool>(), "enabled again: the adapted output");
    }

    [Theory]
    [MemberData(nameof(AdapterCase.Names), MemberType = typeof(AdapterCase))]
    public void DisableAdapter_WhileMerged_InvalidOperationSaysUnmergeFirst(string kind)
    {
        AdapterCase c = AdapterCase.All[kind];
        using var model = new TinyBlock();
        var adapter = Assert.IsAssignableFrom<IDisableableAdapter>(c.Create());
        adapter.Apply(model);
        c.Perturb(model, 5);
        c.Merge(model);

        var e = Assert.Throws<InvalidOperationException>(() => adapter.DisableAdapter(model));
        Assert.Contains("Unmerge", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(AdapterCase.Names), MemberType = typeof(AdapterCase))]
    public void TrainingSteps_DoNotLeakTensors(string kind)
    {
        using var model = new TinyBlock();
        AdapterCase.All[kind].Create().Apply(model);
        model.train();
        long LiveAfterSteps(int steps)
        {
            for (int i = 0; i < steps; i++)
            {
                using var scope = NewDisposeScope();
                model.call(Input(i)).square().sum().backward();
                model.zero_grad();
            }
            return DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        }
        long first = LiveAfterSteps(5);
        Assert.Equal(first, LiveAfterSteps(50));
    }

    [Theory]
    [MemberData(nameof(AdapterCase.Names), MemberType = typeof(AdapterCase))]
    public void TrainingThroughBuilder_LowersLoss_AndMovesOnlyAdapterParameters(string kind)
    {
        AdapterCase c = AdapterCase.All[kind];
        using var model = new TinyBlock();
        Dictionary<string, Tensor> before = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());
        var data = Enumerable.Range(0, 32).ToArray();
        using Training.TrainingRun run = FineTuner
            .For<int>(model, (m, batch, device) =>
            {
                Tensor x = stack(batch.Select(Input).ToArray()).reshape(-1, 8);
                Tensor target = x.narrow(1, 0, 3).mul(2).sin(); // a fixed function of the input
                return ((nn.Module<Tensor, Tensor>)m).call(x).sub(target).square().sum();
            }, batch => batch.Count * 5L * 3)
            .WithAdapter(c.Create())
            .WithOptions(o => { o.Epochs = 15; o.BatchSize = 8; o.LearningRate = c.LearningRate; o.Shuffle = false; })
            .Train(data);
        // Mean of the last 4 steps (dropout draws from the global generator, so single steps are noisy).
        double last = run.History.TakeLast(4).Average(h => h.Loss);
        Assert.True(last < 0.8 * run.History[0].Loss, $"{kind}: loss {run.History[0].Loss:F4} -> {last:F4}");
        foreach ((string name, Parameter p) in model.named_parameters())
        {
            if (c.Trainable.Contains(name)) continue;
            Assert.True(p.equal(before[name.Replace(".base_layer", "", StringComparison.Ordinal)]).all().item<bool>(), $"{name} must stay frozen");
        }
        Dictionary<string, Parameter> trained = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        Assert.All(c.Trainable, name => Assert.False(trained[name].equal(InitialValue(c, name)).all().item<bool>(), $"{name} must have trained"));
    }

    /// <summary>The value an adapter parameter had right after Apply (seeded creation: a second Apply gives it again).</summary>
    private static Tensor InitialValue(AdapterCase c, string name)
    {
        using var model = new TinyBlock();
        c.Create().Apply(model);
        return model.named_parameters().First(p => p.name == name).parameter.detach().clone();
    }
}

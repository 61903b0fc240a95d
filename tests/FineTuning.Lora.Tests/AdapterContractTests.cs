using System;
using System.Collections.Generic;
using System.Linq;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Lora.Tests;

/// <summary>
/// The contract every adapter kind must keep. A new kind adds a row to <see cref="Kinds"/>, not new tests.
/// </summary>
public sealed class AdapterContractTests
{
    public static TheoryData<string> Kinds => new() { "lora", "rslora", "lora-dropout", "dora", "dora-rslora" };

    internal static LoRAOptions OptionsFor(string kind) => kind switch
    {
        "lora" => new LoRAOptions { R = 4, Alpha = 8 },
        "rslora" => new LoRAOptions { R = 4, Alpha = 8, UseRsLoRA = true },
        "lora-dropout" => new LoRAOptions { R = 4, Alpha = 8, Dropout = 0.1 },
        "dora" => new LoRAOptions { R = 4, Alpha = 8, UseDoRA = true },
        "dora-rslora" => new LoRAOptions { R = 4, Alpha = 8, UseDoRA = true, UseRsLoRA = true, Dropout = 0.25 },
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    private static Tensor Input(int seed)
    {
        using var g = new Generator((ulong)seed);
        return randn(new long[] { 5, 8 }, generator: g);
    }

    /// <summary>Gives every B (and DoRA magnitude) a non-zero change so the adapter changes the output.</summary>
    internal static void Perturb(torch.nn.Module model, ulong seed)
    {
        using var g = new Generator(seed);
        using var noGrad = no_grad();
        foreach ((_, LoRALinear layer) in LoRA.Layers(model))
            foreach (string adapter in layer.AdapterNames)
            {
                using Tensor r = randn(layer.B(adapter).shape, generator: g);
                layer.B(adapter).copy_(r.mul(0.1));
                if (layer.IsDoRA(adapter))
                {
                    using Tensor m = rand(layer.Magnitude(adapter).shape, generator: g);
                    layer.Magnitude(adapter).mul_(m.add(0.5));
                }
            }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Apply_AtInit_IsTheIdentity(string kind)
    {
        using var scope = NewDisposeScope();
        using var model = new TinyBlock();
        model.eval();
        Tensor before = model.call(Input(1));
        new LoRAAdapter(OptionsFor(kind)).Apply(model);
        model.eval();
        Assert.True(model.call(Input(1)).equal(before).all().item<bool>(), "B = 0 must leave the output bit-identical");
        Assert.Equal(2, LoRA.Layers(model).Count);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Apply_OnlyAdapterParametersTrain(string kind)
    {
        using var model = new TinyBlock();
        new LoRAAdapter(OptionsFor(kind)).Apply(model);
        string[] trainable = model.named_parameters().Where(p => p.parameter.requires_grad).Select(p => p.name).OrderBy(n => n, StringComparer.Ordinal).ToArray();
        string[] expected = OptionsFor(kind).UseDoRA
            ? new[]
            {
                "model.q_proj.lora_A.default.weight", "model.q_proj.lora_B.default.weight", "model.q_proj.lora_magnitude_vector.default.weight",
                "model.v_proj.lora_A.default.weight", "model.v_proj.lora_B.default.weight", "model.v_proj.lora_magnitude_vector.default.weight",
            }
            : new[]
            {
                "model.q_proj.lora_A.default.weight", "model.q_proj.lora_B.default.weight",
                "model.v_proj.lora_A.default.weight", "model.v_proj.lora_B.default.weight",
            };
        Assert.Equal(expected, trainable);
        Assert.Contains(model.named_parameters(), p => p.name == "model.q_proj.base_layer.weight" && !p.parameter.requires_grad);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Merge_OutputEqualsAdapterOutput_AndUnmergeRestoresWeights(string kind)
    {
        using var scope = NewDisposeScope();
        using var model = new TinyBlock();
        new LoRAAdapter(OptionsFor(kind)).Apply(model);
        Perturb(model, 3);
        model.eval();
        Dictionary<string, Tensor> weights = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());
        Tensor adapted = model.call(Input(2));

        LoRA.Merge(model);
        Tensor merged = model.call(Input(2));
        Assert.True(merged.allclose(adapted, rtol: 1e-5, atol: 1e-6), "merged output equals adapter output");
        Assert.False(model.named_parameters().First(p => p.name == "model.q_proj.base_layer.weight").parameter.allclose(weights["model.q_proj.base_layer.weight"]));

        LoRA.Unmerge(model);
        foreach ((string name, Parameter p) in model.named_parameters())
            Assert.True(p.allclose(weights[name], rtol: 0, atol: 1e-6), $"{name} restored");
        Assert.True(model.call(Input(2)).allclose(adapted, rtol: 1e-5, atol: 1e-6));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void DisableScope_RunsBaseModel_AndRestoresOnDispose_Nested(string kind)
    {
        using var scope = NewDisposeScope();
        using var model = new TinyBlock();
        model.eval();
        Tensor baseOutput = model.call(Input(4));
        new LoRAAdapter(OptionsFor(kind)).Apply(model);
        Perturb(model, 5);
        model.eval();
        Tensor adapted = model.call(Input(4));
        Assert.False(adapted.allclose(baseOutput));

        using (LoRA.DisableAdapters(model))
        {
            using (LoRA.DisableAdapters(model))
            {
                Assert.True(model.call(Input(4)).equal(baseOutput).all().item<bool>());
            }
            Assert.True(model.call(Input(4)).equal(baseOutput).all().item<bool>(), "outer scope still disables");
        }
        Assert.True(model.call(Input(4)).equal(adapted).all().item<bool>());
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void TrainingSteps_DoNotLeakTensors(string kind)
    {
        using var model = new TinyBlock();
        new LoRAAdapter(OptionsFor(kind)).Apply(model);
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
    [MemberData(nameof(Kinds))]
    public void TrainingThroughBuilder_LowersLoss_AndMovesOnlyAdapterParameters(string kind)
    {
        using var model = new TinyBlock();
        Dictionary<string, Tensor> before = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());
        var data = Enumerable.Range(0, 32).Select(i => i).ToArray();
        using Training.TrainingRun run = FineTuner
            .For<int>(model, (m, batch, device) =>
            {
                Tensor x = stack(batch.Select(Input).ToArray()).reshape(-1, 8);
                Tensor target = x.narrow(1, 0, 3).mul(2).sin(); // a fixed function of the input
                return ((nn.Module<Tensor, Tensor>)m).call(x).sub(target).square().sum();
            }, batch => batch.Count * 5L * 3)
            .WithLoRA(OptionsFor(kind))
            .WithOptions(o => { o.Epochs = 15; o.BatchSize = 8; o.LearningRate = 1e-2; o.Shuffle = false; })
            .Train(data);
        // Mean of the last 4 steps (dropout draws from the global generator, so single steps are noisy).
        double last = run.History.TakeLast(4).Average(h => h.Loss);
        Assert.True(last < 0.8 * run.History[0].Loss, $"{kind}: loss {run.History[0].Loss:F4} -> {last:F4}");
        foreach ((string name, Parameter p) in model.named_parameters().Where(p => !p.name.Contains("lora_", StringComparison.Ordinal)))
            Assert.True(p.equal(before[name.Replace(".base_layer", "", StringComparison.Ordinal)]).all().item<bool>(), $"{name} must stay frozen");
        if (OptionsFor(kind).UseDoRA)
            Assert.False(LoRA.Layers(model)[0].Layer.Magnitude("default").allclose(before["model.q_proj.weight"].square().sum(new long[] { 1 }).sqrt()), "magnitude trained");
    }

    [Property(MaxTest = 40)]
    public Property MergeThenUnmerge_RestoresWeights_ForAnyRankAndScale(PositiveInt rank, PositiveInt alpha, int seed)
    {
        using var scope = NewDisposeScope();
        using var model = new TinyBlock(seed: (ulong)(uint)seed);
        new LoRAAdapter(new LoRAOptions { R = 1 + rank.Get % 8, Alpha = 1 + alpha.Get % 64, Seed = (ulong)(uint)seed }).Apply(model);
        Perturb(model, (ulong)(uint)seed);
        Dictionary<string, Tensor> before = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());
        LoRA.Merge(model);
        LoRA.Unmerge(model);
        return model.named_parameters().All(p => p.parameter.allclose(before[p.name], rtol: 0, atol: 1e-5)).ToProperty();
    }
}

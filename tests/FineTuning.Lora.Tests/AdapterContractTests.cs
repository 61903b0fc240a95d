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
/// The LoRA-only part of the contract (disabling, merge properties) over the LoRA kinds; the part every adapter keeps is
/// <see cref="AdapterMatrixTests"/>. A new LoRA kind adds a row to <see cref="Kinds"/>, not new tests.
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

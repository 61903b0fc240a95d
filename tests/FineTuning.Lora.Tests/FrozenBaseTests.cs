using System;
using System.IO;
using System.Linq;
using FineTuning.Adapters;
using FineTuning.Lora.Peft;
using FineTuning.Testing;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Lora.Tests;

/// <summary>LoRA over a base that is not a dense Linear (the QLoRA contract, IFrozenLinear from Core).</summary>
public sealed class FrozenBaseTests
{
    /// <summary>A frozen linear map keeping its weight as a buffer in a "stored" form (here: the weight times 2).</summary>
    private sealed class HalvedLinear : nn.Module<Tensor, Tensor>, IFrozenLinear
    {
#pragma warning disable IDE1006, SA1300
        private readonly Tensor stored;
#pragma warning restore IDE1006, SA1300

        public HalvedLinear(Tensor weight)
            : base(nameof(HalvedLinear))
        {
            stored = weight.mul(2).DetachFromDisposeScope();
            RegisterComponents();
        }

        public long InFeatures => stored.shape[1];

        public long OutFeatures => stored.shape[0];

        public Tensor DenseWeight(ScalarType dtype) => stored.div(2).to(dtype);

        public override Tensor forward(Tensor input)
        {
            using Tensor w = DenseWeight(input.dtype);
            return input.matmul(w.t());
        }
    }

    private sealed class Holder : nn.Module<Tensor, Tensor>
    {
#pragma warning disable IDE1006, SA1300
        private readonly nn.Module<Tensor, Tensor> proj;
#pragma warning restore IDE1006, SA1300

        public Holder(Tensor weight)
            : base(nameof(Holder))
        {
            proj = new HalvedLinear(weight);
            RegisterComponents();
        }

        public override Tensor forward(Tensor input) => proj.call(input);
    }

    [Fact]
    public void LoRA_OverFrozenLinear_AddsScaledUpdate_RefusesMerge_AndRoundTripsThroughPeft()
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(1);
        Tensor w = randn(new long[] { 6, 4 }, generator: g);
        using var model = new Holder(w);
        new LoRAAdapter(new LoRAOptions { R = 2, Alpha = 4, Targets = LoRATargets.Names("proj") }).Apply(model);
        AdapterContractTests.Perturb(model, 2);
        LoRALinear layer = LoRA.Layers(model).Single().Layer;
        Assert.False(layer.CanMerge);
        Assert.Equal(4, layer.InFeatures);

        Tensor x = randn(new long[] { 3, 4 }, generator: g);
        Tensor expected = x.matmul(w.t()) + x.matmul(layer.A("default").t()).matmul(layer.B("default").t()) * 2.0;
        Assert.True(model.call(x).allclose(expected, rtol: 1e-5, atol: 1e-5));
        var ex = Assert.Throws<InvalidOperationException>(() => LoRA.Merge(model));
        Assert.Contains("cannot be merged", ex.Message, StringComparison.Ordinal);

        using var temp = new TempDirectory("qlora");
        string dir = temp.Path;
        PeftAdapter.Save(model, dir);
        using var fresh = new Holder(w);
        PeftAdapter.Load(fresh, dir);
        Assert.True(fresh.call(x).allclose(model.call(x), rtol: 0, atol: 0));
    }
}

using System;
using System.Linq;
using FineTuning.Adapters;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Lora.Tests;

/// <summary>
/// LoRALinear's forward (the update accumulated into the base output by one addmm) against the formula written out
/// with separate products: <c>y = x W^T + b + scaling * (x A^T) B^T</c>, and its gradients for x, A and B.
/// </summary>
public sealed class LoRAForwardTests
{
    [Theory]
    [InlineData(new long[] { 5, 16 }, true)]
    [InlineData(new long[] { 2, 3, 16 }, false)]
    [InlineData(new long[] { 2, 3, 16 }, true)]
    [InlineData(new long[] { 2, 2, 3, 16 }, false)]
    public void OutputAndGradients_EqualTheExplicitFormula(long[] shape, bool bias)
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(21);
        Linear linear = nn.Linear(16, 12, hasBias: bias, dtype: ScalarType.Float64);
        FineTuning.Testing.TinyModels.Initialise(linear, 4);
        using var layer = new LoRALinear(linear);
        layer.AddAdapter("default", r: 4, scaling: 1.75, dropout: 0, generator: g);
        using (no_grad())
        {
            using Tensor b = randn(layer.B("default").shape, generator: g);
            layer.B("default").copy_(b);
        }
        layer.to(ScalarType.Float64);

        Tensor x = randn(shape, generator: g, dtype: ScalarType.Float64).requires_grad_();
        Tensor y = layer.call(x);
        Tensor weights = randn(y.shape, generator: g, dtype: ScalarType.Float64);
        y.mul(weights).sum().backward();

        Tensor xr = x.detach().clone().requires_grad_();
        Tensor a = layer.A("default").detach().clone().requires_grad_();
        Tensor bm = layer.B("default").detach().clone().requires_grad_();
        Tensor w = linear.weight!.detach();
        Tensor yr = xr.matmul(w.t()).add(xr.matmul(a.t()).matmul(bm.t()).mul(1.75));
        if (bias) yr = yr.add(linear.bias!.detach());
        yr.mul(weights).sum().backward();

        Assert.Equal(yr.shape, y.shape);
        // float64 throughout: the two orders of summation differ by rounding only (~1e-15 relative).
        Assert.True(y.allclose(yr, rtol: 1e-12, atol: 1e-12), "output");
        Assert.True(x.grad!.allclose(xr.grad!, rtol: 1e-12, atol: 1e-12), "input gradient");
        Assert.True(layer.A("default").grad!.allclose(a.grad!, rtol: 1e-12, atol: 1e-12), "A gradient");
        Assert.True(layer.B("default").grad!.allclose(bm.grad!, rtol: 1e-12, atol: 1e-12), "B gradient");
        Assert.Null(linear.weight!.grad);
    }

    [Fact]
    public void FrozenBase_ThatDoesNotAllowIt_IsNeverWrittenInPlace()
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(3);
        using var frozen = new RememberingFrozenLinear(randn(new long[] { 6, 8 }, generator: g));
        using var layer = new LoRALinear(frozen);
        layer.AddAdapter("default", r: 2, scaling: 2.0, dropout: 0, generator: g);
        using (no_grad())
        {
            using Tensor b = randn(layer.B("default").shape, generator: g);
            layer.B("default").copy_(b);
        }

        Tensor x = randn(new long[] { 3, 4, 8 }, generator: g);
        Tensor y = layer.call(x);
        Tensor expectedBase = x.matmul(frozen.Weight.t());

        // The base's own output is what it returned: the adapter's update went into a new tensor.
        Assert.True(frozen.LastOutput!.reshape(3, 4, 6).allclose(expectedBase, rtol: 1e-6, atol: 1e-6));
        Assert.False(y.allclose(expectedBase, rtol: 1e-3, atol: 1e-3));
    }

    /// <summary>A frozen linear base that keeps a handle on the tensor it returned (as a cache would).</summary>
    private sealed class RememberingFrozenLinear : nn.Module<Tensor, Tensor>, IFrozenLinear
    {
        public RememberingFrozenLinear(Tensor weight)
            : base(nameof(RememberingFrozenLinear))
        {
            Weight = weight;
        }

        public Tensor Weight { get; }

        public Tensor? LastOutput { get; private set; }

        public long InFeatures => Weight.shape[1];

        public long OutFeatures => Weight.shape[0];

        public Tensor DenseWeight(ScalarType dtype) => Weight.to(dtype, copy: true);

        public override Tensor forward(Tensor input)
        {
            Tensor output = input.matmul(Weight.t());
            LastOutput = output.alias().DetachFromDisposeScope();
            return output;
        }

        protected override void Dispose(bool disposing)
        {
            LastOutput?.Dispose();
            base.Dispose(disposing);
        }
    }
}

using System;
using FineTuning.Models.Fused;
using FineTuning.Testing;
using FsCheck.Xunit;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Core.Tests.Models.Fused;

/// <summary>
/// The fused SwiGLU function against the composition of ordinary ops it replaces: outputs and input gradients
/// (for a loss <c>sum(y * r)</c> with a random r, so every output element has its own weight) in float64 to
/// <see cref="Tolerance.Fp64Same"/>, and in float32 against the float64 composition within a bound derived from the
/// arithmetic of the formulas.
/// </summary>
public sealed class SwiGluFunctionTests
{
    [Fact]
    public void SwiGluFunction_Float64_MatchesCompositionWithGradients()
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(21);
        Tensor gate = (randn(new long[] { 3, 6, 24 }, ScalarType.Float64, generator: g) * 3).detach();
        Tensor up = randn(new long[] { 3, 6, 24 }, ScalarType.Float64, generator: g);
        Tensor r = randn(new long[] { 3, 6, 24 }, ScalarType.Float64, generator: g);

        (Tensor y, Tensor gg, Tensor gu) = Grads(gate, up, r, (a, b) => SwiGluFunction.apply(a, b));
        (Tensor ye, Tensor gge, Tensor gue) = Grads(gate, up, r, (a, b) => nn.functional.silu(a) * b);

        AssertClose(ye, y, Tolerance.Fp64Same());
        AssertClose(gge, gg, Tolerance.Fp64Same());
        AssertClose(gue, gu, Tolerance.Fp64Same());
    }

    [Fact]
    public void SwiGluFunction_Float32_WithinDerivedBoundOfFloat64()
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(22);
        Tensor gate = (randn(new long[] { 5, 40 }, generator: g) * 4).detach();
        Tensor up = randn(new long[] { 5, 40 }, generator: g);
        Tensor r = randn(new long[] { 5, 40 }, generator: g);

        (Tensor y, Tensor gg, Tensor gu) = Grads(gate, up, r, (a, b) => SwiGluFunction.apply(a, b));
        (Tensor ye, Tensor gge, Tensor gue) = Grads(gate.to(ScalarType.Float64), up.to(ScalarType.Float64), r.to(ScalarType.Float64), (a, b) => nn.functional.silu(a) * b);

        // Element-wise formulas: each term is rounded a handful of times (sigmoid's exp and division within a few ulps
        // in libtorch's vectorised kernels), so every result is within 32 u of the sum of the magnitudes of its terms:
        // y = silu(a) b; d_up = r a s; d_gate = r b s (1 + a - a s), whose bracket can cancel.
        Tensor a64 = gate.to(ScalarType.Float64), b64 = up.to(ScalarType.Float64), r64 = r.to(ScalarType.Float64);
        Tensor s = a64.sigmoid();
        double u = 32 * Tolerance.Fp32Unit;
        AssertWithin(ye, y, (a64 * s * b64).abs() * u);
        AssertWithin(gue, gu, (r64 * a64 * s).abs() * u);
        AssertWithin(gge, gg, (r64 * b64 * s).abs() * (1 + a64.abs() + (a64 * s).abs()) * u);
    }

    /// <summary>Any gate and up (seeded, gate spread over silu's curved range): the fused gradients equal the composition's in float64.</summary>
    [Property(MaxTest = 50)]
    public bool SwiGluFunction_AnyInput_GradientsEqualComposition(int seed, byte width, byte spread)
    {
        using var scope = NewDisposeScope();
        using var g = new Generator((ulong)(uint)seed);
        long n = 1 + (width % 40);
        Tensor gate = (randn(new long[] { 3, n }, ScalarType.Float64, generator: g) * (1 + (spread % 8))).detach();
        Tensor up = randn(new long[] { 3, n }, ScalarType.Float64, generator: g);
        Tensor r = randn(new long[] { 3, n }, ScalarType.Float64, generator: g);
        (Tensor y, Tensor gg, Tensor gu) = Grads(gate, up, r, (a, b) => SwiGluFunction.apply(a, b));
        (Tensor ye, Tensor gge, Tensor gue) = Grads(gate, up, r, (a, b) => nn.functional.silu(a) * b);
        double scale = Math.Max(1, gate.abs().max().item<double>());
        return Max(ye - y) <= Tolerance.Fp64Same(scale) && Max(gge - gg) <= Tolerance.Fp64Same(scale) && Max(gue - gu) <= Tolerance.Fp64Same(scale);
    }

    [Fact]
    public void SwiGluFunction_OnlyUpNeedsGradient_GivesUpGradientOnly()
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(23);
        Tensor gate = randn(new long[] { 4, 6 }, ScalarType.Float64, generator: g);
        Tensor up = randn(new long[] { 4, 6 }, ScalarType.Float64, generator: g).requires_grad_();
        SwiGluFunction.apply(gate, up).sum().backward();
        Assert.Null(gate.grad);
        AssertClose(nn.functional.silu(gate), up.grad!, Tolerance.Fp64Same()); // d/d_up sum(silu(gate) up) = silu(gate)
    }

    [Fact]
    public void SwiGluFunction_ForwardBackwardInScope_LeavesNoLiveTensor()
    {
        SavedTensors.DisposeReturned(); // gradients an earlier test's backward left on this thread
        long before = TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        using (var scope = NewDisposeScope())
        {
            using var g = new Generator(24);
            Tensor gate = randn(new long[] { 4, 6 }, generator: g).requires_grad_();
            Tensor up = randn(new long[] { 4, 6 }, generator: g).requires_grad_();
            SwiGluFunction.apply(gate, up).sum().backward();
        }

        SavedTensors.DisposeReturned(); // as the trainer does after each backward
        Assert.Equal(before, TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    private static double Max(Tensor t) => t.abs().max().item<double>();

    private static (Tensor Y, Tensor GradA, Tensor GradB) Grads(Tensor a, Tensor b, Tensor r, Func<Tensor, Tensor, Tensor> f)
    {
        Tensor ax = a.detach().requires_grad_(), bx = b.detach().requires_grad_();
        Tensor y = f(ax, bx);
        (y * r).sum().backward();
        return (y.detach(), ax.grad!, bx.grad!);
    }

    private static void AssertClose(Tensor expected, Tensor actual, double tolerance)
    {
        Assert.Equal(expected.shape, actual.shape);
        double difference = (expected.to(ScalarType.Float64) - actual.to(ScalarType.Float64)).abs().max().item<double>();
        Assert.True(difference <= tolerance, $"max difference {difference:R} > {tolerance:R}");
    }

    private static void AssertWithin(Tensor expected, Tensor actual, Tensor bound)
    {
        Tensor difference = (expected.to(ScalarType.Float64) - actual.to(ScalarType.Float64)).abs();
        // A floor of one float32 subnormal step keeps exact zeros comparable.
        Tensor excess = difference - bound - 1e-30;
        Assert.True(excess.max().item<double>() <= 0, $"largest excess over the bound {excess.max().item<double>():R}");
    }
}

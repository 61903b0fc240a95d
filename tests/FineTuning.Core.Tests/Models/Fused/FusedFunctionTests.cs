using System;
using System.Linq;
using FineTuning.Models.Fused;
using FineTuning.Testing;
using FsCheck.Xunit;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Core.Tests.Models.Fused;

/// <summary>
/// Each fused autograd function against the composition of ordinary ops it replaces: outputs and input gradients
/// (for a loss <c>sum(y * r)</c> with a random r, so every output element has its own weight) in float64 to
/// <see cref="Tolerance.Fp64Same"/>, and in float32 against the float64 composition within a bound derived from the
/// arithmetic of each formula.
/// </summary>
public sealed class FusedFunctionTests
{
    private const double Eps = 1e-5;

    [Fact]
    public void RmsNormFunction_Float64_MatchesCompositionWithGradients()
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(11);
        Tensor x = randn(new long[] { 3, 5, 16 }, ScalarType.Float64, generator: g);
        Tensor w = randn(new long[] { 16 }, ScalarType.Float64, generator: g);
        Tensor r = randn(new long[] { 3, 5, 16 }, ScalarType.Float64, generator: g);

        (Tensor y, Tensor gx, Tensor gw) = Grads(x, w, r, (a, b) => RmsNormFunction.apply(a, b, Eps));
        (Tensor ye, Tensor gxe, Tensor gwe) = Grads(x, w, r, RmsComposition);

        AssertClose(ye, y, Tolerance.Fp64Same());
        AssertClose(gxe, gx, Tolerance.Fp64Same());
        AssertClose(gwe, gw, Tolerance.Fp64Same(15)); // a sum over 15 rows
    }

    [Fact]
    public void RmsNormFunction_Float32_WithinDerivedBoundOfFloat64()
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(12);
        const int d = 64;
        Tensor x = randn(new long[] { 4, 7, d }, generator: g);
        Tensor w = randn(new long[] { d }, generator: g);
        Tensor r = randn(new long[] { 4, 7, d }, generator: g);

        (Tensor y, Tensor gx, Tensor gw) = Grads(x, w, r, (a, b) => RmsNormFunction.apply(a, b, Eps));
        (Tensor ye, Tensor gxe, Tensor gwe) = Grads(x.to(ScalarType.Float64), w.to(ScalarType.Float64), r.to(ScalarType.Float64), RmsComposition);

        // rstd comes from a sum of d squares (gamma_d relative, halved by the square root) and each result element from
        // a few more roundings; the input gradient adds the row sum of gn * n (d terms). With |n| ~ 1 per element, the
        // error of every element is below (2 d + 16) u times the magnitudes it is built from.
        double unit = ((2 * d) + 16) * Tolerance.Fp32Unit;
        double wScale = w.abs().max().item<float>(), rScale = r.abs().max().item<float>();
        AssertClose(ye, y, unit * wScale * 4);
        AssertClose(gxe, gx, unit * wScale * rScale * 8);
        AssertClose(gwe, gw, unit * rScale * 4 * 28); // a sum over 28 rows
    }

    [Fact]
    public void RmsNormFunction_FrozenWeight_GivesOnlyInputGradient()
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(13);
        Tensor x = randn(new long[] { 2, 8 }, ScalarType.Float64, generator: g).requires_grad_();
        Tensor w = randn(new long[] { 8 }, ScalarType.Float64, generator: g); // frozen (LoRA): no gradient wanted
        RmsNormFunction.apply(x, w, Eps).sum().backward();
        Assert.NotNull(x.grad);
        Assert.Null(w.grad);
    }

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

    [Fact]
    public void RotaryFunction_Float64_MatchesCompositionWithGradients()
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(31);
        (Tensor cos, Tensor sin) = Tables(6, 8, ScalarType.Float64);
        Tensor x = randn(new long[] { 2, 3, 6, 8 }, ScalarType.Float64, generator: g);
        Tensor r = randn(new long[] { 2, 3, 6, 8 }, ScalarType.Float64, generator: g);

        (Tensor y, Tensor gx) = Grads(x, r, t => RotaryFunction.apply(t, cos, sin));
        (Tensor ye, Tensor gxe) = Grads(x, r, t => FineTuning.Models.Llama.RotaryEmbedding.Apply(t, cos, sin, fused: false));

        AssertClose(ye, y, Tolerance.Fp64Same());
        AssertClose(gxe, gx, Tolerance.Fp64Same());
    }

    [Fact]
    public void RotaryFunction_Float32NonContiguousInput_WithinDerivedBoundOfFloat64()
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(32);
        (Tensor cos, Tensor sin) = Tables(10, 16, ScalarType.Float32);
        // As in attention: a [batch, seq, heads, head_dim] projection viewed as [batch, heads, seq, head_dim].
        Tensor x = randn(new long[] { 2, 10, 4, 16 }, generator: g).transpose(1, 2);
        Tensor r = randn(new long[] { 2, 4, 10, 16 }, generator: g);

        (Tensor y, Tensor gx) = Grads(x, r, t => RotaryFunction.apply(t, cos, sin));
        Tensor cos64 = cos.to(ScalarType.Float64), sin64 = sin.to(ScalarType.Float64);
        (Tensor ye, Tensor gxe) = Grads(x.to(ScalarType.Float64), r.to(ScalarType.Float64), t => FineTuning.Models.Llama.RotaryEmbedding.Apply(t, cos64, sin64, fused: false));

        // Each element is x_i cos_i -+ x_j sin_i: two products and one sum, each rounded once (3 u of the magnitudes).
        double scale = x.abs().max().item<float>() * r.abs().max().item<float>();
        AssertClose(ye, y, 4 * Tolerance.Fp32Unit * 2 * x.abs().max().item<float>());
        AssertClose(gxe, gx, 4 * Tolerance.Fp32Unit * 2 * scale);
    }

    /// <summary>The rotation is orthogonal: it keeps every vector's length, and the gradient of |y|^2 is 2 x.</summary>
    [Property(MaxTest = 50)]
    public bool RotaryFunction_AnyInput_IsOrthogonal(int seed, byte positions)
    {
        using var scope = NewDisposeScope();
        int seq = 1 + (positions % 12);
        using var g = new Generator((ulong)(uint)seed);
        // Tables computed in float64, so that cos^2 + sin^2 = 1 to float64 precision.
        Tensor inv = tensor(FineTuning.Models.Llama.RotaryEmbedding.InverseFrequencies(8, 10000, null)).to(ScalarType.Float64);
        Tensor angles = outer(arange(seq, ScalarType.Float64), inv);
        Tensor emb = cat(new[] { angles, angles }, -1);
        Tensor cos = emb.cos(), sin = emb.sin();
        Tensor x = randn(new long[] { 1, 2, seq, 8 }, ScalarType.Float64, generator: g).requires_grad_();
        Tensor y = RotaryFunction.apply(x, cos, sin);
        y.square().sum().backward();
        double lengthError = (y.square().sum(-1) - x.square().sum(-1)).abs().max().item<double>();
        double gradError = (x.grad! - (2 * x)).abs().max().item<double>();
        return lengthError <= Tolerance.Fp64Same(8 * 16) && gradError <= Tolerance.Fp64Same(8);
    }

    private static Tensor RmsComposition(Tensor x, Tensor w) => w * (x * rsqrt(x.pow(2).mean(new long[] { -1 }, keepdim: true) + Eps));

    private static (Tensor Cos, Tensor Sin) Tables(int seq, int headDim, ScalarType dtype)
    {
        float[] inv = FineTuning.Models.Llama.RotaryEmbedding.InverseFrequencies(headDim, 10000, null);
        Tensor positions = arange(seq, ScalarType.Int64).unsqueeze(0);
        return FineTuning.Models.Llama.RotaryEmbedding.Tables(positions, inv, dtype);
    }

    private static (Tensor Y, Tensor GradA, Tensor GradB) Grads(Tensor a, Tensor b, Tensor r, Func<Tensor, Tensor, Tensor> f)
    {
        Tensor ax = a.detach().requires_grad_(), bx = b.detach().requires_grad_();
        Tensor y = f(ax, bx);
        (y * r).sum().backward();
        return (y.detach(), ax.grad!, bx.grad!);
    }

    private static (Tensor Y, Tensor GradX) Grads(Tensor x, Tensor r, Func<Tensor, Tensor> f)
    {
        Tensor leaf = x.detach().requires_grad_();
        Tensor y = f(leaf);
        (y * r).sum().backward();
        return (y.detach(), leaf.grad!);
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

using System;
using System.Collections.Generic;
using System.Linq;
using FineTuning.Core.Tests.Training;
using FineTuning.Models;
using FineTuning.Models.Fused;
using FineTuning.Core.Tests.Models.Llama;
using FineTuning.Models.Llama;
using FineTuning.Testing;
using FsCheck.Xunit;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Core.Tests.Models.Fused;

/// <summary>
/// The C# RMSNorm kernel (float32) against the composition of ordinary ops in float64, within bounds derived from the
/// kernel's arithmetic (n the row length, u float32's unit roundoff): the row's sum of squares is within gamma_n of
/// exact, so r = 1/sqrt(mean + eps) within (n/2 + 3) u relative and y = w x r within (n/2 + 6) u, bounded here by
/// (n + 10) u |y|; the input gradient <c>r g w - x r^3 mean(g w x)</c> within (3n + 20) u (|g w r| + |x| r^3 sum|g w x| / n);
/// the weight gradient, a sum over the rows, within (rows + n + 10) u sum|g x r|.
/// </summary>
public sealed class RmsNormFunctionTests
{
    /// <summary>Any shape (rows of 1 to 70 values, so vector tails too), scale, epsilon, trained or frozen weight.</summary>
    [Property(MaxTest = 60)]
    public bool RmsNormKernel_AnyInput_WithinDerivedBoundOfFloat64Composition(int seed, byte rowsByte, byte colsByte, byte scaleByte, bool trainWeight)
    {
        using var scope = NewDisposeScope();
        using var g = new Generator((ulong)(uint)seed);
        long rows = 1 + (rowsByte % 9), cols = 1 + (colsByte % 70);
        double scale = Math.Pow(10, (scaleByte % 7) - 3); // 1e-3 .. 1e3
        double eps = (scaleByte % 2 == 0) ? 1e-6 : 1e-5;
        Tensor x = randn(new long[] { 2, rows, cols }, generator: g) * scale;
        Tensor w = randn(new long[] { cols }, generator: g);
        Tensor r = randn(new long[] { 2, rows, cols }, generator: g);

        (Tensor y, Tensor gx, Tensor? gw) = Grads(x, w, r, trainWeight, (a, b) => RmsNormFunction.Apply(a, b, eps));
        (Tensor ye, Tensor gxe, Tensor? gwe) = Grads(x.to(ScalarType.Float64), w.to(ScalarType.Float64), r.to(ScalarType.Float64), trainWeight, (a, b) => Composition(a, b, eps));

        Bounds bounds = DerivedBounds(x, w, r, eps);
        bool ok = Tolerance.WithinBound(y, ye, bounds.Y) && Tolerance.WithinBound(gx, gxe, bounds.Gx);
        if (trainWeight) ok &= Tolerance.WithinBound(gw!, gwe!, bounds.Gw);
        else ok &= gw is null;
        return ok && y.dtype == ScalarType.Float32 && y.shape.SequenceEqual(x.shape);
    }

    [Fact]
    public void RmsNormKernel_NonContiguousInput_SameAsContiguous()
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(31);
        Tensor x = randn(new long[] { 40, 3 }, generator: g).t(); // [3, 40], not contiguous
        Tensor w = randn(new long[] { 40 }, generator: g);
        Assert.False(x.is_contiguous());
        Tensor a = RmsNormFunction.Apply(x, w, 1e-6);
        Tensor b = RmsNormFunction.Apply(x.contiguous(), w, 1e-6);
        Assert.True(a.eq(b).all().item<bool>());
    }

    [Fact]
    public void RmsNormKernel_UnderNoGrad_GivesTheSameValuesAndNoGraph()
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(32);
        Tensor x = randn(new long[] { 4, 24 }, generator: g).requires_grad_();
        Tensor w = randn(new long[] { 24 }, generator: g);
        Tensor with = RmsNormFunction.Apply(x, w, 1e-6);
        Tensor without;
        using (no_grad()) without = RmsNormFunction.Apply(x, w, 1e-6);
        Assert.True(with.detach().eq(without).all().item<bool>());
        Assert.False(without.requires_grad);
    }

    [Fact]
    public void RmsNormKernel_Applies_OnlyToFloat32RowsOfTheWeightsLength()
    {
        using var scope = NewDisposeScope();
        Tensor w = ones(8);
        Assert.True(RmsNormFunction.Applies(zeros(3, 8), w));
        Assert.False(RmsNormFunction.Applies(zeros(new long[] { 3, 8 }, ScalarType.Float64), w));
        Assert.False(RmsNormFunction.Applies(zeros(new long[] { 3, 8 }, ScalarType.BFloat16), w));
        Assert.False(RmsNormFunction.Applies(zeros(3, 8), w.to(ScalarType.BFloat16)));
        Assert.False(RmsNormFunction.Applies(zeros(3, 7), w));
        Assert.False(RmsNormFunction.Applies(zeros(0, 8), w));
    }

    [Fact]
    public void RmsNormKernel_ForwardBackwardInScope_LeavesNoLiveTensor()
    {
        SavedTensors.DisposeReturned();
        long before = TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        using (var scope = NewDisposeScope())
        {
            using var g = new Generator(33);
            Tensor x = randn(new long[] { 4, 24 }, generator: g).requires_grad_();
            Tensor w = randn(new long[] { 24 }, generator: g).requires_grad_();
            RmsNormFunction.Apply(x, w, 1e-6).sum().backward();
        }

        SavedTensors.DisposeReturned();
        Assert.Equal(before, TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    private static Tensor Composition(Tensor x, Tensor w, double eps) => w * (x * torch.rsqrt(x.square().mean(new long[] { -1 }, keepdim: true) + eps));

    private static (Tensor Y, Tensor Gx, Tensor? Gw) Grads(Tensor x, Tensor w, Tensor r, bool trainWeight, Func<Tensor, Tensor, Tensor> f)
    {
        Tensor xa = x.detach().requires_grad_(), wa = w.detach().requires_grad_(trainWeight);
        Tensor y = f(xa, wa);
        (y * r).sum().backward();
        return (y.detach(), xa.grad!, wa.grad);
    }

    private sealed record Bounds(Tensor Y, Tensor Gx, Tensor Gw);

    private static Bounds DerivedBounds(Tensor x32, Tensor w32, Tensor g32, double eps)
    {
        Tensor x = x32.to(ScalarType.Float64), w = w32.to(ScalarType.Float64), g = g32.to(ScalarType.Float64);
        long n = x.shape[^1];
        long rows = x.numel() / n;
        double u = Tolerance.Fp32Unit;
        Tensor rs = torch.rsqrt(x.square().mean(new long[] { -1 }, keepdim: true) + eps);
        Tensor y = (w * x * rs).abs() * ((n + 10) * u);
        Tensor gwr = (g * w * rs).abs();
        Tensor dotMagnitude = (g * w * x).abs().sum(new long[] { -1 }, keepdim: true);
        Tensor gx = (gwr + (x.abs() * rs.pow(3) * dotMagnitude / n)) * (((3 * n) + 20) * u);
        // sum over dimension 0 (a literal 0 alone would bind to the ScalarType overload of sum)
        Tensor gw = (g * x * rs).abs().reshape(-1, n).sum(new long[] { 0 }) * ((rows + n + 10) * u);
        // A floor of one float32 subnormal step keeps exact zeros comparable.
        return new Bounds(y + 1e-40, gx + 1e-40, gw + 1e-40);
    }
}

/// <summary>
/// The C# kernels inside a float32 LLaMA (every RMSNorm and rotary embedding goes through them by default;
/// <c>FusedKernels = false</c> runs ordinary ops): its gradients are no further from the float64 model's than the
/// ordinary ops' float32 gradients are, within a factor 4 (both are float32 evaluations of the same function; the
/// kernels sum and multiply in another order).
/// </summary>
[Collection(nameof(GlobalGeneratorCollection))]
public sealed class RmsNormKernelModelTests
{
    [Fact]
    public void Llama_Float32_KernelGradientsAsCloseToFloat64AsTheComposition()
    {
        using LlamaForCausalLM model = TinyLlama.Create(TinyLlama.Config(), dtype: ScalarType.Float64);
        model.train();
        var objective = new CausalLMObjective();
        Func<nn.Module, Tensor> loss = m => objective.SummedLoss(m, GradientCheckpointingTests.Batch, CPU);
        Dictionary<string, double[]> reference = GradientParity.Gradients(model, loss, checkpoint: false, null);
        model.to(ScalarType.Float32);
        Dictionary<string, double[]> kernel = GradientParity.Gradients(model, loss, checkpoint: false, null);
        model.FusedKernels = false;
        Dictionary<string, double[]> composed = GradientParity.Gradients(model, loss, checkpoint: false, null);

        Assert.Contains(reference.Keys, k => k.EndsWith("input_layernorm.weight", StringComparison.Ordinal));
        foreach ((string name, double[] exact) in reference)
        {
            double magnitude = exact.Max(Math.Abs);
            double kernelError = exact.Zip(kernel[name], (e, a) => Math.Abs(e - a)).Max();
            double composedError = exact.Zip(composed[name], (e, a) => Math.Abs(e - a)).Max();
            Assert.True(kernelError <= (4 * composedError) + (64 * Tolerance.Fp32Unit * magnitude),
                $"{name}: kernel {kernelError:E2}, composition {composedError:E2}, largest gradient {magnitude:E2}");
        }
    }
}

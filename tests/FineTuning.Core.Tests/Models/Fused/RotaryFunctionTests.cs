using System;
using System.Linq;
using FineTuning.Core.Tests.Models.Llama;
using FineTuning.Core.Tests.Training;
using FineTuning.Generation;
using FineTuning.Models.Fused;
using FineTuning.Models.Llama;
using FineTuning.Testing;
using FsCheck.Xunit;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Core.Tests.Models.Fused;

/// <summary>
/// The C# rotary kernel (float32) against the ordinary ops in float64. Each output is one two-term sum of products
/// (<c>x1 cos - x2 sin</c>, <c>x2 cos + x1 sin</c>; backward the transposed rotation of g), so it is within
/// 3 u (|first product| + |second product|) of exact, bounded here by 4 u (|x| + |rotate_half(x)|) as |cos|, |sin| &lt;= 1.
/// </summary>
public sealed class RotaryFunctionTests
{
    /// <summary>Any batch, heads, length and even head size (vector tails too), tables shared or per sequence, either input layout.</summary>
    [Property(MaxTest = 60)]
    public bool RotaryKernel_AnyInput_WithinDerivedBoundOfFloat64Ops(int seed, byte shapeByte, byte dimByte, bool perBatch, bool projectionLayout)
    {
        using var scope = NewDisposeScope();
        using var g = new Generator((ulong)(uint)seed);
        long batch = 1 + (shapeByte % 3), heads = 1 + ((shapeByte / 3) % 4), seq = 1 + ((shapeByte / 12) % 9);
        int dim = 2 * (1 + (dimByte % 40));
        Tensor positions = randint(0, 4096, new long[] { perBatch ? batch : 1, seq }, generator: g);
        (Tensor cos, Tensor sin) = RotaryEmbedding.Tables(positions, dim, 10000, ScalarType.Float32);
        Tensor x = projectionLayout
            ? randn(new long[] { batch, seq, heads * dim }, generator: g).view(batch, seq, heads, dim).transpose(1, 2)
            : randn(new long[] { batch, heads, seq, dim }, generator: g);
        Tensor r = randn(new long[] { batch, heads, seq, dim }, generator: g);

        (Tensor y, Tensor gx) = Grads(x, r, a => RotaryFunction.Apply(a, cos, sin));
        (Tensor ye, Tensor gxe) = Grads(x.to(ScalarType.Float64), r.to(ScalarType.Float64),
            a => RotaryEmbedding.ApplyOps(a, cos.to(ScalarType.Float64), sin.to(ScalarType.Float64)));

        Tensor BoundOf(Tensor t)
        {
            Tensor t64 = t.detach().to(ScalarType.Float64).abs();
            return ((t64 + t64.roll(dim / 2, -1)) * (4 * Tolerance.Fp32Unit)) + 1e-40;
        }

        // d(sum(y r))/dx is the transposed rotation of r: its terms are r's, rolled.
        return RotaryFunction.Applies(x, cos, sin)
            && y.shape.SequenceEqual(x.shape) && gx.shape.SequenceEqual(x.shape)
            && Tolerance.WithinBound(y, ye, BoundOf(x)) && Tolerance.WithinBound(gx, gxe, BoundOf(r));
    }

    [Fact]
    public void RotaryKernel_Applies_OnlyToFloat32WithMatchingTables()
    {
        using var scope = NewDisposeScope();
        (Tensor cos, Tensor sin) = RotaryEmbedding.Tables(arange(6).unsqueeze(0), 8, 10000, ScalarType.Float32);
        Assert.True(RotaryFunction.Applies(zeros(2, 3, 6, 8), cos, sin));
        Assert.False(RotaryFunction.Applies(zeros(new long[] { 2, 3, 6, 8 }, ScalarType.Float64), cos, sin));
        Assert.False(RotaryFunction.Applies(zeros(new long[] { 2, 3, 6, 8 }, ScalarType.BFloat16), cos, sin));
        Assert.False(RotaryFunction.Applies(zeros(2, 3, 5, 8), cos, sin)); // other length
        Assert.False(RotaryFunction.Applies(zeros(2, 3, 6, 7), cos, sin)); // odd head size
        Assert.False(RotaryFunction.Applies(zeros(3, 6, 8), cos, sin)); // not [B, H, T, D]
    }

    [Fact]
    public void RotaryKernel_ForwardBackwardInScope_LeavesNoLiveTensor()
    {
        SavedTensors.DisposeReturned();
        long before = TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        using (var scope = NewDisposeScope())
        {
            using var g = new Generator(41);
            (Tensor cos, Tensor sin) = RotaryEmbedding.Tables(arange(5).unsqueeze(0), 16, 10000, ScalarType.Float32);
            Tensor x = randn(new long[] { 2, 3, 5, 16 }, generator: g).requires_grad_();
            RotaryFunction.Apply(x, cos, sin).sum().backward();
        }

        SavedTensors.DisposeReturned();
        Assert.Equal(before, TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [Fact]
    public void RotaryKernel_TablesFreedBeforeBackward_BackwardStillReadsThem()
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(42);
        Tensor x = randn(new long[] { 1, 2, 4, 8 }, generator: g).requires_grad_();
        Tensor y;
        using (var forward = NewDisposeScope())
        {
            // As in the model: the tables live in the forward's scope, which ends before backward.
            (Tensor cos, Tensor sin) = RotaryEmbedding.Tables(arange(4).unsqueeze(0), 8, 10000, ScalarType.Float32);
            y = RotaryFunction.Apply(x, cos, sin).MoveToOuterDisposeScope();
        }

        y.pow(2).sum().backward();
        // The rotation is orthogonal: d/dx sum(y^2) = 2 R^T R x = 2 x.
        Assert.True(x.grad!.sub(x.detach() * 2).abs().max().item<float>() <= 1e-5f);
    }

    private static (Tensor Y, Tensor Gx) Grads(Tensor x, Tensor r, Func<Tensor, Tensor> f)
    {
        // A leaf with x's layout (the projection's, or contiguous), so the kernel sees what the model gives it.
        Tensor leaf = x.detach().requires_grad_();
        Tensor y = f(leaf);
        (y * r).sum().backward();
        return (y.detach(), leaf.grad!);
    }
}

/// <summary>
/// A float32 LLaMA with its kernels (RMSNorm, rotary) on, generating with a cache: the logits of a cached continuation
/// equal the full forward's within float32 rounding of the model (the same kernels, other table rows per position).
/// </summary>
[Collection(nameof(GlobalGeneratorCollection))]
public sealed class RotaryKernelCacheTests
{
    [Fact]
    public void Llama_Float32Kernels_CachedLogitsMatchFullForward()
    {
        using LlamaForCausalLM model = TinyLlama.Create(TinyLlama.Config(), dtype: ScalarType.Float32);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        Tensor ids = tensor(new long[] { 1, 5, 6, 7, 8, 9 }).unsqueeze(0);
        using KVCache cache = model.CreateCache();
        Tensor prefix = model.Forward(ids.narrow(1, 0, 4), cache: cache);
        Tensor next = model.Forward(ids.narrow(1, 4, 2), cache: cache);
        Tensor full = model.Forward(ids);
        double scale = full.abs().max().item<float>();
        double difference = Math.Max(
            (full.narrow(1, 0, 4) - prefix).abs().max().item<float>(),
            (full.narrow(1, 4, 2) - next).abs().max().item<float>());
        // Attention over 6 keys and 2 small layers: a few hundred roundings at most between the two paths.
        Assert.True(difference <= 1024 * Tolerance.Fp32Unit * Math.Max(1, scale), $"difference {difference} at scale {scale}");
        model.FusedKernels = false;
        Tensor ops = model.Forward(ids);
        Assert.True((ops - full).abs().max().item<float>() <= 1024 * Tolerance.Fp32Unit * Math.Max(1, scale));
    }
}

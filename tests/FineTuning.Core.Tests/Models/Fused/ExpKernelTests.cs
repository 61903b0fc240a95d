using System;
using System.Linq;
using System.Runtime.Intrinsics;
using FineTuning.Models;
using FineTuning.Models.Fused;
using FineTuning.Testing;
using FsCheck.Xunit;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Core.Tests.Models.Fused;

/// <summary>
/// The float32 exponential of the C# kernels and the two kernels built on it (SwiGLU's loops, the chunked loss's loop),
/// against float64 references within bounds derived from their arithmetic (u = 2^-24). Both vector widths are tested on
/// every CPU: .NET runs Vector512 and Vector256 in software where the hardware lacks them, with the same arithmetic.
/// </summary>
public sealed class ExpKernelTests
{
    private const double U = Tolerance.Fp32Unit;

    /// <summary>
    /// Cody-Waite reduction (n ln2 split in two parts, so r carries at most 1 u of x's own rounding), Cephes' polynomial
    /// (under 1 u on |r| &lt;= ln2/2) and the final scaling (exact) and products (1 u): within 3 u of e^x, every lane.
    /// </summary>
    [Property(MaxTest = 200)]
    public bool FastExp_BothWidths_Within3UlpOfExactOnItsRange(int seed)
    {
        var random = new Random(seed);
        float[] x = Enumerable.Range(0, 16).Select(_ => (float)((random.NextDouble() * (88.0 + 87.3)) - 87.3)).ToArray();
        Vector512<float> wide = FastExp.Exp(Vector512.Create(x));
        Vector256<float> narrow = FastExp.Exp(Vector256.Create(x.AsSpan(0, 8)));
        for (int i = 0; i < 16; i++)
        {
            double exact = Math.Exp(x[i]);
            if (Math.Abs(wide[i] - exact) > 3 * U * exact) return false;
            if (i < 8 && Math.Abs(narrow[i] - exact) > 3 * U * exact) return false;
            if (Math.Abs(FastExp.Exp(x[i]) - exact) > 3 * U * exact) return false;
        }

        return true;
    }

    [Fact]
    public void FastExp_OutsideItsRangeAndNaN_ClampsAndKeepsNaN()
    {
        float[] x = { -1000f, -87.3f, 0f, 88f, 1000f, float.NaN, float.NegativeInfinity, float.PositiveInfinity };
        Vector256<float> e = FastExp.Exp(Vector256.Create(x));
        Assert.Equal(1f, e[2]);
        Assert.Equal(e[0], e[1]); // below the range: e^-87.3, a normal float
        Assert.True(float.IsNormal(e[0]) && e[0] < 1.3e-38f);
        Assert.True(float.IsFinite(e[3]) && e[3] == e[4] && e[3] > 1.6e38f); // above it: e^88
        Assert.True(float.IsNaN(e[5]));
        Assert.Equal(e[0], e[6]);
        Assert.Equal(e[3], e[7]);
        Assert.True(float.IsNaN(FastExp.Exp(float.NaN)));
    }

    /// <summary>
    /// SwiGLU's loops (any length 1-70, so vector tails; gates up to +-200, past the exponential's clamp) against the
    /// float64 formulas: s = 1/(1+e) is within 5 u (e within 3 u, one addition, one division), y = a s b within 8 u,
    /// d_up = g a s within 8 u, d_gate = g b s (1 + a - a s) within 16 u (|g b s| (1 + |a| + |a s|)), whose bracket can
    /// cancel. The clamp changes s by at most e^-88 = 6e-39 for gates below -88, far below the absolute floor of 1e-30.
    /// </summary>
    [Property(MaxTest = 100)]
    public bool SwiGluLoops_AnyInput_WithinDerivedBoundOfFloat64(int seed, byte lengthByte, byte spreadByte)
    {
        var random = new Random(seed);
        int n = 1 + (lengthByte % 70);
        double spread = new[] { 1.0, 4, 16, 200 }[spreadByte % 4];
        float[] a = Normal(random, n, spread), b = Normal(random, n, 1), g = Normal(random, n, 1);
        using var scope = NewDisposeScope();
        Tensor ta = tensor(a), tb = tensor(b), tg = tensor(g), ty = empty(n), tda = empty(n), tdb = empty(n);
        SwiGluFunction.Forward(TensorMemory.Address(ta), TensorMemory.Address(tb), TensorMemory.Address(ty), n);
        SwiGluFunction.Backward(TensorMemory.Address(ta), TensorMemory.Address(tb), TensorMemory.Address(tg), TensorMemory.Address(tda), TensorMemory.Address(tdb), n);
        float[] y = ty.data<float>().ToArray(), da = tda.data<float>().ToArray(), db = tdb.data<float>().ToArray();

        for (int i = 0; i < n; i++)
        {
            double x = a[i], s = 1 / (1 + Math.Exp(-x));
            double ye = x * s * b[i], dbe = g[i] * x * s, dae = g[i] * b[i] * s * (1 + x - (x * s));
            if (Math.Abs(y[i] - ye) > (8 * U * Math.Abs(ye)) + 1e-30) return false;
            if (Math.Abs(db[i] - dbe) > (8 * U * Math.Abs(dbe)) + 1e-30) return false;
            if (Math.Abs(da[i] - dae) > (16 * U * Math.Abs(g[i] * b[i] * s) * (1 + Math.Abs(x) + Math.Abs(x * s))) + 1e-30) return false;
        }

        return true;
    }

    /// <summary>
    /// The loss loop (rows with ignored labels, vocabularies of 1-70, logits spread up to +-60) against the float64
    /// composition: the row sum s of V exponentials is within (V + 3 + V / e) u relative (each term within 3 u plus
    /// |x - m| u from the subtraction, and t e^-t &lt;= 1/e; V - 1 additions), so a row's loss log s + m - x_y is within
    /// u ((2 V + 4) + |m - x_y| + log s) and a gradient element e_j / s - [j = y] within u (|x_j - m| + 2 V + 6) p_j + u.
    /// </summary>
    [Property(MaxTest = 100)]
    public bool CrossEntropyLoop_AnyInput_WithinDerivedBoundOfFloat64(int seed, byte rowsByte, byte vocabByte, byte spreadByte)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator((ulong)(uint)seed);
        long rows = 1 + (rowsByte % 6), vocab = 1 + (vocabByte % 70);
        double spread = new[] { 0.1, 1, 8, 60 }[spreadByte % 4];
        Tensor logits = randn(new long[] { rows, vocab }, generator: generator) * spread;
        Tensor labels = randint(-1, vocab, new long[] { rows }, generator: generator);
        labels = labels.masked_fill(labels.lt(0), TokenSequence.IgnoreIndex);

        Tensor x64 = logits.to(ScalarType.Float64);
        Tensor keep = labels.ne(TokenSequence.IgnoreIndex);
        Tensor index = labels.masked_fill(keep.logical_not(), 0).unsqueeze(1);
        Tensor logProbs = x64.log_softmax(1);
        Tensor rowLoss = logProbs.gather(1, index).squeeze(1).neg().masked_fill(keep.logical_not(), 0);
        Tensor p = logProbs.exp();
        Tensor expectedGradient = p.scatter_add(1, index, full(new long[] { rows, 1 }, -1.0, ScalarType.Float64)).masked_fill(keep.logical_not().unsqueeze(1), 0);

        Tensor work = logits.clone();
        double loss = CrossEntropyKernel.Run(work, labels, gradient: true);
        double lossOnly = CrossEntropyKernel.Run(logits.clone(), labels, gradient: false);

        Tensor m = x64.amax(new long[] { 1 }, keepdim: true);
        Tensor logS = (x64 - m).exp().sum(new long[] { 1 }).log();
        Tensor rowBound = ((2 * vocab) + 4 + (m.squeeze(1) - x64.gather(1, index).squeeze(1)).abs() + logS) * U;
        double lossBound = rowBound.masked_fill(keep.logical_not(), 0).sum().item<double>() + 1e-12;
        Tensor gradientBound = (((x64 - m).abs() + (2 * vocab) + 6) * U * p) + U;
        return Math.Abs(loss - rowLoss.sum().item<double>()) <= lossBound
            && loss == lossOnly
            && Tolerance.WithinBound(work, expectedGradient, gradientBound.masked_fill(keep.logical_not().unsqueeze(1), 0));
    }

    [Fact]
    public void CrossEntropyLoop_LabelOutsideTheVocabulary_IsRefusedWithTheToken()
    {
        using var scope = NewDisposeScope();
        Tensor logits = zeros(3, 5);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => CrossEntropyKernel.Run(logits, tensor(new long[] { 1, 5, 2 }), gradient: true));
        Assert.Contains("label 5 at token 1", error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => CrossEntropyKernel.Run(zeros(1, 5), tensor(new long[] { -3 }), gradient: false));
    }

    [Fact]
    public void CrossEntropyKernel_Applies_OnlyToPlainFloat32LogitsOutsideAutograd()
    {
        using var scope = NewDisposeScope();
        Assert.Equal(FastExp.Narrow, CrossEntropyKernel.Applies(zeros(4, 8)));
        Assert.False(CrossEntropyKernel.Applies(zeros(new long[] { 4, 8 }, ScalarType.Float64)));
        Assert.False(CrossEntropyKernel.Applies(zeros(new long[] { 4, 8 }, ScalarType.BFloat16)));
        Assert.False(CrossEntropyKernel.Applies(zeros(8, 4).t()));
        Assert.False(CrossEntropyKernel.Applies(zeros(4, 8).requires_grad_()));
        Assert.False(CrossEntropyKernel.Applies(zeros(2, 4, 8)));
    }

    /// <summary>
    /// The chunked loss with the loop against the same loss with libtorch's ops (float32, a trained head and hidden
    /// states, chunks with ignored labels): loss and gradients within float32 bounds of each other. Where the loop does
    /// not apply (no AVX-512) both sides take the ops and agree exactly.
    /// </summary>
    [Fact]
    public void ChunkedLoss_WithLoop_MatchesOpsWithinFloat32Bounds()
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(41);
        Tensor hidden = randn(new long[] { 3, 11, 16 }, generator: g);
        Tensor weight = randn(new long[] { 37, 16 }, generator: g) * 0.5;
        Tensor labels = randint(0, 37, new long[] { 3, 11 }, generator: g);
        labels[1, 4] = tensor(TokenSequence.IgnoreIndex);

        (Tensor loss, Tensor gh, Tensor gw) Run(bool kernel)
        {
            Tensor h = hidden.detach().requires_grad_(), w = weight.detach().requires_grad_();
            Tensor l = LinearCrossEntropy.SummedNextTokenLoss(h, OutputHead.Dense(w), labels, chunkSize: 7, kernel);
            l.backward();
            return (l.detach(), h.grad!, w.grad!);
        }

        (Tensor loss, Tensor gh, Tensor gw) = Run(kernel: true);
        (Tensor lossOps, Tensor ghOps, Tensor gwOps) = Run(kernel: false);
        // 30 rows of 37 logits whose magnitudes stay below 20: each row's loss within (2 V + 4 + 40 + log V) u of exact on
        // either side; the gradients are products of per-element errors within (20 + 2 V + 6) u with h and W, summed.
        double rowError = ((2 * 37) + 4 + 40 + Math.Log(37)) * U;
        Assert.True(Math.Abs(loss.item<float>() - lossOps.item<float>()) <= (2 * 30 * rowError) + (30 * U * lossOps.item<float>()));
        double elementError = 2 * ((20 + (2 * 37) + 6) * U);
        Assert.True(Tolerance.WithinBound(gh.reshape(-1, 16), ghOps.reshape(-1, 16), Tolerance.Fp32MatmulBound(ones(33, 37), weight.abs()).add(elementError * weight.abs().sum(new long[] { 0 }).max().item<float>())));
        Assert.True(Tolerance.WithinBound(gw, gwOps, Tolerance.Fp32MatmulBound(ones(37, 33), hidden.reshape(-1, 16).abs()).add(elementError * hidden.abs().sum().item<float>())));
    }

    private static float[] Normal(Random random, int n, double scale) =>
        Enumerable.Range(0, n).Select(_ => (float)(scale * Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()))).ToArray();
}

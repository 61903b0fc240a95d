using System;
using System.Runtime.Intrinsics;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Models.Fused;

/// <summary>
/// Cross-entropy of one chunk of float32 logits as one C# loop over the rows, split over libtorch's threads
/// (<see cref="KernelThreads"/>; <see cref="FastExp"/> for the exponentials): per row, the maximum m, then <c>e_j = exp(x_j - m)</c> written over the logits and summed into
/// s, the row's loss <c>log s + m - x_y</c>, and, for training, <c>e_j / s - [j = y]</c> in place: the gradient of the
/// loss with respect to the logits. A row is 32 KB at a vocabulary of 8,000, so after the first read it is in cache:
/// one read and one write of the chunk from memory, where <c>log_softmax</c>, <c>gather</c>, <c>exp_</c>,
/// <c>scatter_add_</c> and <c>masked_fill_</c> make five passes. Measured on [1024 x 8000]: 9 against 20 ms
/// (docs/benchmarks/hot-paths.md).
/// </summary>
internal static class CrossEntropyKernel
{
    /// <summary>
    /// Whether the loop takes these logits: float32 on the CPU, 2-D, contiguous, outside autograd (the loop overwrites
    /// them), and 8- or 16-lane vectors in hardware (AVX2, AVX-512).
    /// </summary>
    internal static bool Applies(Tensor logits) =>
        FastExp.Narrow && logits.dtype == ScalarType.Float32 && logits.device_type == DeviceType.CPU && logits.dim() == 2
        && logits.is_contiguous() && !logits.requires_grad && logits.shape[1] > 0;

    /// <summary>
    /// The summed loss over the rows whose label is not <see cref="TokenSequence.IgnoreIndex"/>; the logits [rows, vocab]
    /// are overwritten (with the gradient when <paramref name="gradient"/> is true: zero on ignored rows).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A label is neither ignored nor in [0, vocab).</exception>
    internal static double Run(Tensor logits, Tensor labels, bool gradient)
    {
        using Tensor y = labels.contiguous();
        long rows = logits.shape[0];
        if (y.numel() != rows) throw new ArgumentException($"{y.numel()} labels for {rows} rows of logits.", nameof(labels));
        return Run(TensorMemory.Address(logits), TensorMemory.Address(y), rows, checked((int)logits.shape[1]), gradient);
    }

    internal static unsafe double Run(nint logits, nint labels, long rows, int vocab, bool gradient)
    {
        long* y = (long*)labels;
        for (long i = 0; i < rows; i++)
        {
            long label = y[i];
            if (label != TokenSequence.IgnoreIndex && (label < 0 || label >= vocab))
            {
                throw new ArgumentOutOfRangeException(nameof(labels), label, $"label {label} at token {i} of the chunk is outside the vocabulary [0, {vocab}) and is not the ignore index {TokenSequence.IgnoreIndex}.");
            }
        }

        // Rows split over libtorch's threads (KernelThreads), each part summing its own rows' losses.
        long minimumRows = KernelThreads.MinimumItems(vocab);
        var sums = new double[KernelThreads.Parts(rows, minimumRows)];
        KernelThreads.For(rows, minimumRows, 1, (start, end, part) => sums[part] = Rows(logits, y, start, end, vocab, gradient));
        double total = 0;
        foreach (double sum in sums) total += sum;
        return total;
    }

    private static unsafe double Rows(nint logits, long* y, long start, long end, int vocab, bool gradient)
    {
        double total = 0;
        for (long i = start; i < end; i++)
        {
            float* x = (float*)logits + (i * vocab);
            long label = y[i];
            if (label == TokenSequence.IgnoreIndex)
            {
                if (gradient) new Span<float>(x, vocab).Clear();
                continue;
            }

            float target = x[label];
            float m = Max(x, vocab);
            float s = ExpInPlace(x, vocab, m);
            total += Math.Log(s) + m - target;
            if (!gradient) continue;
            Scale(x, vocab, 1f / s);
            x[label] -= 1f;
        }

        return total;
    }

    private static unsafe float Max(float* x, int n)
    {
        int c = 0;
        float m = float.NegativeInfinity;
        if (Vector512.IsHardwareAccelerated && n >= 16)
        {
            Vector512<float> v = Vector512.Load(x);
            for (c = 16; c <= n - 16; c += 16) v = Vector512.Max(v, Vector512.Load(x + c));
            for (int k = 0; k < 16; k++) m = MathF.Max(m, v.GetElement(k));
        }
        else if (Vector256.IsHardwareAccelerated && n >= 8)
        {
            Vector256<float> v = Vector256.Load(x);
            for (c = 8; c <= n - 8; c += 8) v = Vector256.Max(v, Vector256.Load(x + c));
            for (int k = 0; k < 8; k++) m = MathF.Max(m, v.GetElement(k));
        }

        for (; c < n; c++) m = MathF.Max(m, x[c]);
        return m;
    }

    private static unsafe float ExpInPlace(float* x, int n, float m)
    {
        int c = 0;
        float s = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<float> vm = Vector512.Create(m), sum = Vector512<float>.Zero;
            for (; c <= n - 16; c += 16)
            {
                Vector512<float> e = FastExp.Exp(Vector512.Load(x + c) - vm);
                e.Store(x + c);
                sum += e;
            }

            s = Vector512.Sum(sum);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> vm = Vector256.Create(m), sum = Vector256<float>.Zero;
            for (; c <= n - 8; c += 8)
            {
                Vector256<float> e = FastExp.Exp(Vector256.Load(x + c) - vm);
                e.Store(x + c);
                sum += e;
            }

            s = Vector256.Sum(sum);
        }

        for (; c < n; c++)
        {
            float e = FastExp.Exp(x[c] - m);
            x[c] = e;
            s += e;
        }

        return s;
    }

    private static unsafe void Scale(float* x, int n, float factor)
    {
        int c = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<float> f = Vector512.Create(factor);
            for (; c <= n - 16; c += 16) (Vector512.Load(x + c) * f).Store(x + c);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> f = Vector256.Create(factor);
            for (; c <= n - 8; c += 8) (Vector256.Load(x + c) * f).Store(x + c);
        }

        for (; c < n; c++) x[c] *= factor;
    }
}

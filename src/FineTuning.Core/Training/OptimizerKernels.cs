using System;
using System.Numerics;
using FineTuning.Models.Fused;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Training;

/// <summary>
/// The optimizer's per-parameter work as C# loops over float32 CPU memory on the calling thread: the gradient's sum of
/// squares for clipping, and AdamW's update of a parameter and its two moments in one pass. A LoRA run has a hundred or
/// more small parameters, each of which costs libtorch five to eight operator calls a step (dispatch, and a parallel
/// region for the larger ones); one loop per parameter reads each value once (docs/benchmarks/hot-paths.md).
/// </summary>
internal static class OptimizerKernels
{
    /// <summary>Whether the loops take this tensor: float32, on the CPU, contiguous.</summary>
    internal static bool Applies(Tensor t) => t.dtype == ScalarType.Float32 && t.device_type == DeviceType.CPU && t.is_contiguous();

    /// <summary>Sum of the squares of a float32 tensor's values, accumulated in float64 (see <see cref="Applies"/>).</summary>
    internal static unsafe double SumOfSquares(Tensor t)
    {
        float* p = (float*)TensorMemory.Address(t);
        long n = t.numel();
        int width = Vector<float>.Count;
        double total = 0;
        long i = 0;
        // Blocks of 4,096 values summed in float32 lanes (each partial sum within 512 u of its exact value), then in float64.
        while (i <= n - width)
        {
            long end = Math.Min(n - width, i + 4096);
            var acc = Vector<float>.Zero;
            for (; i <= end; i += width)
            {
                var v = *(Vector<float>*)(p + i);
                acc += v * v;
            }

            total += Vector.Sum(acc);
        }

        for (; i < n; i++) total += (double)p[i] * p[i];
        return total;
    }

    /// <summary>
    /// One AdamW step in place, as <see cref="AdamWState"/>'s ops compute it: <c>p *= decay</c> (when
    /// <paramref name="decay"/> is not 1), <c>m = beta1 m + (1 - beta1) g</c>, <c>v = beta2 v + (1 - beta2) g^2</c>,
    /// <c>p += stepSize m / (sqrt(v) / sqrtBias2 + eps)</c>. All four tensors float32, contiguous, of one size.
    /// </summary>
    internal static unsafe void AdamW(Tensor parameter, Tensor grad, Tensor m, Tensor v, float beta1, float beta2, float sqrtBias2, float eps, float stepSize, float decay)
    {
        float* pp = (float*)TensorMemory.Address(parameter), pg = (float*)TensorMemory.Address(grad);
        float* pm = (float*)TensorMemory.Address(m), pv = (float*)TensorMemory.Address(v);
        long n = parameter.numel();
        int width = Vector<float>.Count;
        float a1 = 1 - beta1, a2 = 1 - beta2, inverseBias = 1 / sqrtBias2;
        long i = 0;
        var vb1 = new Vector<float>(beta1);
        var va1 = new Vector<float>(a1);
        var vb2 = new Vector<float>(beta2);
        var va2 = new Vector<float>(a2);
        var vbias = new Vector<float>(inverseBias);
        var veps = new Vector<float>(eps);
        var vstep = new Vector<float>(stepSize);
        var vdecay = new Vector<float>(decay);
        for (; i <= n - width; i += width)
        {
            var g = *(Vector<float>*)(pg + i);
            var mm = (*(Vector<float>*)(pm + i) * vb1) + (g * va1);
            var vv = (*(Vector<float>*)(pv + i) * vb2) + (g * g * va2);
            *(Vector<float>*)(pm + i) = mm;
            *(Vector<float>*)(pv + i) = vv;
            var p = *(Vector<float>*)(pp + i) * vdecay;
            *(Vector<float>*)(pp + i) = p + (vstep * mm / ((Vector.SquareRoot(vv) * vbias) + veps));
        }

        for (; i < n; i++)
        {
            float g = pg[i];
            float mm = (pm[i] * beta1) + (g * a1);
            float vv = (pv[i] * beta2) + (g * g * a2);
            pm[i] = mm;
            pv[i] = vv;
            pp[i] = (pp[i] * decay) + (stepSize * mm / ((MathF.Sqrt(vv) * inverseBias) + eps));
        }
    }
}

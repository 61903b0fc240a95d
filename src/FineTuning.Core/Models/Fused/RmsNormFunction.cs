using System;
using System.Collections.Generic;
using System.Numerics;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace FineTuning.Models.Fused;

/// <summary>
/// RMSNorm <c>y = w * x * r</c>, <c>r = 1 / sqrt(mean(x^2) + eps)</c> per row, as one autograd node whose forward and
/// backward are loops over the rows in C# (float32, CPU): forward reads each row twice and writes it once, backward
/// reads g and x twice and writes the input gradient once, where libtorch's composition makes five passes forward and
/// about eight backward. Saves x and r only. Backward, with u = g * w: <c>dx = r u - x r^3 mean(u x)</c>;
/// <c>dw = sum over rows of g x r</c> when w trains. The rows are split over libtorch's own threads
/// (<see cref="KernelThreads"/>): measured in the LoRA step, splitting them over a second .NET thread lost to libgomp's
/// worker, which spins on that core between libtorch's parallel operations (docs/benchmarks/hot-paths.md).
/// </summary>
internal sealed class RmsNormFunction : SingleTensorFunction<RmsNormFunction>
{
    public override string Name => "RmsNormKernel";

    /// <summary>Whether the kernel takes this input and weight: float32 on the CPU, rows of the weight's length.</summary>
    internal static bool Applies(Tensor x, Tensor weight) =>
        x.dtype == ScalarType.Float32 && weight.dtype == ScalarType.Float32 && x.device_type == DeviceType.CPU
        && weight.device_type == DeviceType.CPU && x.dim() >= 1 && weight.dim() == 1 && x.shape[^1] == weight.shape[0]
        && x.numel() > 0;

    /// <summary>The normalised <paramref name="x"/> [..., n] times <paramref name="weight"/> [n]; see <see cref="Applies"/>.</summary>
    internal static Tensor Apply(Tensor x, Tensor weight, double eps) => apply(x, weight, new Settings(eps));

    /// <summary>vars: x, weight, then the <see cref="Settings"/>.</summary>
    public override Tensor forward(AutogradContext ctx, params object[] vars)
    {
        var input = (Tensor)vars[0];
        var weight = (Tensor)vars[1];
        var settings = (Settings)vars[2];
        Tensor x = input.contiguous();
        Tensor w = weight.contiguous();
        int cols = (int)x.shape[^1];
        long rows = x.numel() / cols;
        Tensor y = torch.empty_like(x);
        Tensor r = torch.empty(rows, ScalarType.Float32);
        Forward(TensorMemory.Address(x), TensorMemory.Address(w), TensorMemory.Address(y), TensorMemory.Address(r), rows, cols, (float)settings.Eps);
        ctx.save_for_backward(new List<Tensor> { x, r, w });
        ctx.save_data("needWeight", weight.requires_grad);
        return y;
    }

    public override List<Tensor> backward(AutogradContext ctx, Tensor grad_output)
    {
        using var scope = NewDisposeScope();
        bool needWeight = (bool)ctx.get_data("needWeight");
        List<Tensor> saved = SavedTensors.Take(ctx);
        Tensor x = saved[0], r = saved[1], w = saved[2];
        Tensor g = grad_output.contiguous();
        int cols = (int)x.shape[^1];
        long rows = x.numel() / cols;
        Tensor gx = torch.empty_like(x);
        float[]? gw = needWeight ? new float[cols] : null;
        Backward(TensorMemory.Address(x), TensorMemory.Address(w), TensorMemory.Address(g), TensorMemory.Address(r), TensorMemory.Address(gx), gw, rows, cols);
        SavedTensors.Release(grad_output);
        Tensor? weightGrad = gw is null ? null : SavedTensors.Return(torch.tensor(gw));
        return new List<Tensor> { SavedTensors.Return(gx), weightGrad!, null! };
    }

    /// <summary>The epsilon: not an autograd input.</summary>
    internal sealed record Settings(double Eps);

    /// <summary>Rows per thread below which the loops stay on one thread (<see cref="KernelThreads.Grain"/> values).</summary>
    private static long MinimumRows(int cols) => KernelThreads.MinimumItems(cols);

    internal static void Forward(nint x, nint w, nint y, nint r, long rows, int cols, float eps) =>
        KernelThreads.For(rows, MinimumRows(cols), 1, (start, end, _) => Forward(x, w, y, r, start, end, cols, eps));

    private static unsafe void Forward(nint x, nint w, nint y, nint r, long start, long end, int cols, float eps)
    {
        float* px = (float*)x, pw = (float*)w, py = (float*)y, pr = (float*)r;
        int width = Vector<float>.Count;
        for (long i = start; i < end; i++)
        {
            float* row = px + (i * cols), output = py + (i * cols);
            var acc = Vector<float>.Zero;
            int c = 0;
            for (; c <= cols - width; c += width)
            {
                var v = *(Vector<float>*)(row + c);
                acc += v * v;
            }

            float sum = Vector.Sum(acc);
            for (; c < cols; c++) sum += row[c] * row[c];
            float rs = 1f / MathF.Sqrt((sum / cols) + eps);
            pr[i] = rs;
            var scale = new Vector<float>(rs);
            c = 0;
            for (; c <= cols - width; c += width) *(Vector<float>*)(output + c) = *(Vector<float>*)(pw + c) * (*(Vector<float>*)(row + c) * scale);
            for (; c < cols; c++) output[c] = pw[c] * (row[c] * rs);
        }
    }

    internal static void Backward(nint x, nint w, nint g, nint r, nint gx, float[]? gw, long rows, int cols)
    {
        // Each part sums its rows' weight gradient into its own array; the parts' sums are added in part order.
        float[][]? partial = gw is null ? null : new float[KernelThreads.Parts(rows, MinimumRows(cols))][];
        KernelThreads.For(rows, MinimumRows(cols), 1, (start, end, part) =>
        {
            float[]? sum = partial is null ? null : partial[part] = new float[cols];
            Backward(x, w, g, r, gx, sum, start, end, cols);
        });
        if (gw is null) return;
        foreach (float[]? sum in partial!)
        {
            if (sum is null) continue;
            for (int c = 0; c < cols; c++) gw[c] += sum[c];
        }
    }

    private static unsafe void Backward(nint x, nint w, nint g, nint r, nint gx, float[]? gw, long start, long end, int cols)
    {
        float* px = (float*)x, pw = (float*)w, pg = (float*)g, pr = (float*)r, pgx = (float*)gx;
        int width = Vector<float>.Count;
        fixed (float* pm = gw)
        {
            for (long i = start; i < end; i++)
            {
                float* xr = px + (i * cols), gr = pg + (i * cols), output = pgx + (i * cols);
                float rs = pr[i];
                var acc = Vector<float>.Zero;
                int c = 0;
                for (; c <= cols - width; c += width) acc += *(Vector<float>*)(gr + c) * *(Vector<float>*)(pw + c) * *(Vector<float>*)(xr + c);
                float dot = Vector.Sum(acc);
                for (; c < cols; c++) dot += gr[c] * pw[c] * xr[c];
                float k = rs * rs * rs * dot / cols;
                var vr = new Vector<float>(rs);
                var vk = new Vector<float>(k);
                c = 0;
                for (; c <= cols - width; c += width)
                {
                    var xv = *(Vector<float>*)(xr + c);
                    var gv = *(Vector<float>*)(gr + c);
                    *(Vector<float>*)(output + c) = (gv * *(Vector<float>*)(pw + c) * vr) - (xv * vk);
                    if (pm != null) *(Vector<float>*)(pm + c) += gv * xv * vr;
                }

                for (; c < cols; c++)
                {
                    output[c] = (gr[c] * pw[c] * rs) - (xr[c] * k);
                    if (pm != null) pm[c] += gr[c] * xr[c] * rs;
                }
            }
        }
    }
}

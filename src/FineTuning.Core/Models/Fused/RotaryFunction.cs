using System;
using System.Collections.Generic;
using System.Numerics;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace FineTuning.Models.Fused;

/// <summary>
/// The rotary embedding in Hugging Face's layout, <c>x cos + rotate_half(x) sin</c> with <c>rotate_half(x) =
/// cat(-x2, x1)</c>, as one autograd node whose forward and backward are loops in C# over each head's row (float32, CPU):
/// one read and one write of q or k each way, where libtorch's ops make four passes forward and about six backward
/// (multiply, roll, multiply, accumulate, and a copy of the transposed gradient). x is [batch, heads, seq, dim] laid
/// out as the projection wrote it ([batch, seq, heads, dim] in memory); the output has the same layout. Backward is the
/// inverse rotation: <c>dx1 = g1 cos1 + g2 sin2</c>, <c>dx2 = g2 cos2 - g1 sin1</c>. Saves only the tables.
/// Split over libtorch's threads (<see cref="KernelThreads"/>), as <see cref="RmsNormFunction"/> is.
/// </summary>
internal sealed class RotaryFunction : SingleTensorFunction<RotaryFunction>
{
    public override string Name => "RotaryKernel";

    /// <summary>
    /// Whether the kernel takes x [B, H, T, D] (D even, the last dimension contiguous) with float32 tables cos and
    /// sin [B or 1, 1, T, D], all on the CPU.
    /// </summary>
    internal static bool Applies(Tensor x, Tensor cos, Tensor sin) =>
        x.dtype == ScalarType.Float32 && cos.dtype == ScalarType.Float32 && sin.dtype == ScalarType.Float32
        && x.device_type == DeviceType.CPU && cos.device_type == DeviceType.CPU && sin.device_type == DeviceType.CPU
        && x.dim() == 4 && cos.dim() == 4 && x.shape[3] % 2 == 0 && x.numel() > 0
        && System.Linq.Enumerable.SequenceEqual(cos.shape, sin.shape) && (cos.shape[0] == 1 || cos.shape[0] == x.shape[0])
        && cos.shape[1] == 1 && cos.shape[2] == x.shape[2] && cos.shape[3] == x.shape[3];

    /// <summary>Rotates x by the tables; see <see cref="Applies"/>.</summary>
    internal static Tensor Apply(Tensor x, Tensor cos, Tensor sin) => apply(x, new Tables(cos.contiguous(), sin.contiguous()));

    /// <summary>vars: x, then the <see cref="Tables"/> (not autograd inputs).</summary>
    public override Tensor forward(AutogradContext ctx, params object[] vars)
    {
        var x = (Tensor)vars[0];
        var tables = (Tables)vars[1];
        // [B, T, H, D] in memory: a view of the projection's output, or one copy for any other layout.
        Tensor rows = x.transpose(1, 2).contiguous();
        Tensor output = torch.empty_like(rows);
        Rotate(rows, tables, output, inverse: false);
        // The tables as saved variables: the model's forward scope frees its wrappers, the node keeps the storage.
        ctx.save_for_backward(new List<Tensor> { tables.Cos, tables.Sin });
        return output.transpose(1, 2);
    }

    public override List<Tensor> backward(AutogradContext ctx, Tensor grad_output)
    {
        using var scope = NewDisposeScope();
        List<Tensor> saved = SavedTensors.Take(ctx);
        var tables = new Tables(saved[0], saved[1]);
        Tensor g = grad_output.transpose(1, 2).contiguous();
        Tensor gx = torch.empty_like(g);
        Rotate(g, tables, gx, inverse: true);
        SavedTensors.Release(grad_output);
        return new List<Tensor> { SavedTensors.Return(gx.transpose(1, 2)), null! };
    }

    /// <summary>cos and sin [B or 1, 1, T, D], contiguous.</summary>
    internal sealed record Tables(Tensor Cos, Tensor Sin);

    /// <summary>
    /// Rotates every head row of <paramref name="input"/> [B, T, H, D] (contiguous) into <paramref name="output"/>; the
    /// inverse rotation (the transpose, for backward) with <paramref name="inverse"/>.
    /// </summary>
    private static unsafe void Rotate(Tensor input, Tables tables, Tensor output, bool inverse)
    {
        long batch = input.shape[0], seq = input.shape[1], heads = input.shape[2];
        int dim = (int)input.shape[3], half = dim / 2;
        bool perBatch = tables.Cos.shape[0] != 1;
        float* px = (float*)TensorMemory.Address(input), po = (float*)TensorMemory.Address(output);
        float* pc = (float*)TensorMemory.Address(tables.Cos), ps = (float*)TensorMemory.Address(tables.Sin);
        // The inverse rotation is the rotation with the sines of the other half, negated (negation is exact):
        // forward out1 = x1 c1 - x2 s1, out2 = x2 c2 + x1 s2; inverse dx1 = g1 c1 + g2 s2, dx2 = g2 c2 - g1 s1.
        int firstSine = inverse ? half : 0, secondSine = inverse ? 0 : half;
        float sign = inverse ? -1f : 1f;
        var signs = new Vector<float>(sign);
        int width = Vector<float>.Count;
        long rows = batch * seq, rowValues = heads * dim;
        // Positions (b, t) split over libtorch's threads (KernelThreads): each writes its own head rows only.
        KernelThreads.For(rows, KernelThreads.MinimumItems(rowValues), 1, (start, end, _) =>
        {
            for (long bt = start; bt < end; bt++)
            {
                long b = bt / seq, t = bt % seq;
                long table = ((perBatch ? b * seq : 0) + t) * dim;
                float* c1 = pc + table, c2 = c1 + half, s1 = ps + table + firstSine, s2 = ps + table + secondSine;
                for (long h = 0; h < heads; h++)
                {
                    long offset = ((bt * heads) + h) * dim;
                    float* x1 = px + offset, x2 = x1 + half, o1 = po + offset, o2 = o1 + half;
                    int i = 0;
                    for (; i <= half - width; i += width)
                    {
                        var a = *(Vector<float>*)(x1 + i);
                        var z = *(Vector<float>*)(x2 + i);
                        *(Vector<float>*)(o1 + i) = (a * *(Vector<float>*)(c1 + i)) - (z * (*(Vector<float>*)(s1 + i) * signs));
                        *(Vector<float>*)(o2 + i) = (z * *(Vector<float>*)(c2 + i)) + (a * (*(Vector<float>*)(s2 + i) * signs));
                    }

                    for (; i < half; i++)
                    {
                        float a = x1[i], z = x2[i];
                        o1[i] = (a * c1[i]) - (z * (s1[i] * sign));
                        o2[i] = (z * c2[i]) + (a * (s2[i] * sign));
                    }
                }
            }
        });
    }
}

using System;
using System.Collections.Generic;
using System.Runtime.Intrinsics;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace FineTuning.Models.Fused;

/// <summary>
/// SwiGLU's gating <c>silu(gate) * up</c> (Shazeer 2020, https://arxiv.org/abs/2002.05202) as one autograd node that
/// saves gate and up only: silu is recomputed in backward instead of kept, which saves one [tokens, intermediate]
/// tensor per layer. Backward, with s = sigmoid(gate): <c>d_up = g * gate * s</c>,
/// <c>d_gate = g * up * s * (1 + gate - gate * s)</c>, computed in float32 for lower-precision inputs.
/// </summary>
/// <remarks>
/// Float32 on the CPU, where AVX2 or AVX-512 runs 8- or 16-lane vectors, forward and backward are one C# loop each, split over
/// libtorch's threads (<see cref="KernelThreads"/>; <see cref="FastExp"/> for the sigmoid): one read of gate and up and one write forward, one read of gate, up
/// and g and two writes backward, where libtorch's ops make two passes forward and seven backward. Measured on
/// [2048 x 1376] with 16 lanes: 30 % less time than the ops on one thread, and 4.8-5.1 against 8.8-9.2 ms on two
/// threads instead of one (docs/benchmarks/hot-paths.md). Other CPUs and dtypes keep the ops.
/// </remarks>
internal sealed class SwiGluFunction : SingleTensorFunction<SwiGluFunction>
{
    public override string Name => "FusedSwiGLU";

    /// <summary>Whether the C# loops take these inputs: float32 on the CPU, the same shape, and 8- or 16-lane vectors in hardware.</summary>
    internal static bool KernelApplies(Tensor gate, Tensor up) =>
        FastExp.Narrow && gate.dtype == ScalarType.Float32 && up.dtype == ScalarType.Float32 && gate.device_type == DeviceType.CPU
        && up.device_type == DeviceType.CPU && gate.shape.AsSpan().SequenceEqual(up.shape);

    /// <summary><c>silu(gate) * up</c>; with <paramref name="kernel"/> false always through libtorch's ops (a before/after switch).</summary>
    internal static Tensor Apply(Tensor gate, Tensor up, bool kernel = true) => apply(gate, up, new Settings(kernel));

    /// <summary>vars: gate, up (same shape and dtype), then optionally the <see cref="Settings"/>.</summary>
    public override Tensor forward(AutogradContext ctx, params object[] vars)
    {
        var gate = (Tensor)vars[0];
        var up = (Tensor)vars[1];
        bool kernel = vars.Length < 3 || ((Settings)vars[2]).Kernel;
        ctx.save_data("kernel", kernel);
        ctx.save_data("inputs", vars.Length);
        if (kernel && KernelApplies(gate, up))
        {
            Tensor a = gate.contiguous(), b = up.contiguous();
            ctx.save_for_backward(new List<Tensor> { a, b });
            Tensor output = torch.empty_like(a);
            Forward(TensorMemory.Address(a), TensorMemory.Address(b), TensorMemory.Address(output), a.numel());
            return output;
        }

        ctx.save_for_backward(new List<Tensor> { gate, up });
        // As nn.functional.silu(gate) * up computes it, so the forward is bit for bit the unfused one.
        Tensor y = nn.functional.silu(gate);
        return y.mul_(up);
    }

    public override List<Tensor> backward(AutogradContext ctx, Tensor grad_output)
    {
        using var scope = NewDisposeScope();
        bool kernel = (bool)ctx.get_data("kernel");
        List<Tensor> saved = SavedTensors.Take(ctx);
        if (kernel && KernelApplies(saved[0], saved[1]) && grad_output.dtype == ScalarType.Float32 && saved[0].is_contiguous() && saved[1].is_contiguous())
        {
            Tensor g = grad_output.contiguous();
            Tensor gateGrad = torch.empty_like(saved[0]), upGrad = torch.empty_like(saved[0]);
            Backward(TensorMemory.Address(saved[0]), TensorMemory.Address(saved[1]), TensorMemory.Address(g), TensorMemory.Address(gateGrad), TensorMemory.Address(upGrad), g.numel());
            SavedTensors.Release(grad_output);
            return Gradients(gateGrad, upGrad, ctx);
        }

        ScalarType dtype = saved[0].dtype;
        Tensor gate = saved[0].AtLeastFloat32(), up = saved[1].AtLeastFloat32(), go = grad_output.AtLeastFloat32();
        Tensor s = gate.sigmoid();
        Tensor silu = gate.mul(s);
        Tensor gradGate = gate.sub(silu).add_(1).mul_(s).mul_(go).mul_(up).to_type(dtype);
        Tensor gradUp = silu.mul_(go).to_type(dtype);
        SavedTensors.Release(grad_output);
        return Gradients(gradGate, gradUp, ctx);
    }

    /// <summary>Whether the C# loops may be used: not an autograd input.</summary>
    internal sealed record Settings(bool Kernel);

    // One entry per argument passed to apply: gate, up (and the settings when given).
    private static List<Tensor> Gradients(Tensor gateGrad, Tensor upGrad, AutogradContext ctx)
    {
        var result = new List<Tensor> { SavedTensors.Return(gateGrad), SavedTensors.Return(upGrad) };
        if ((int)ctx.get_data("inputs") == 3) result.Add(null!);
        return result;
    }

    /// <summary>y = a s b with s = 1 / (1 + e^-a), over <paramref name="count"/> contiguous floats, on libtorch's threads (<see cref="KernelThreads"/>).</summary>
    internal static void Forward(nint gate, nint up, nint output, long count) =>
        KernelThreads.For(count, KernelThreads.Grain, 16, (start, end, _) => Forward(gate, up, output, start, end));

    /// <summary>d_gate and d_up over <paramref name="count"/> contiguous floats, on libtorch's threads (<see cref="KernelThreads"/>).</summary>
    internal static void Backward(nint gate, nint up, nint grad, nint gateGrad, nint upGrad, long count) =>
        KernelThreads.For(count, KernelThreads.Grain, 16, (start, end, _) => Backward(gate, up, grad, gateGrad, upGrad, start, end));

    /// <summary>y = a s b with s = 1 / (1 + e^-a), for the floats [start, end).</summary>
    private static unsafe void Forward(nint gate, nint up, nint output, long start, long count)
    {
        float* a = (float*)gate, b = (float*)up, y = (float*)output;
        long i = start;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i <= count - 16; i += 16)
            {
                Vector512<float> x = Vector512.Load(a + i);
                Vector512<float> s = Vector512<float>.One / (Vector512<float>.One + FastExp.Exp(-x));
                (x * s * Vector512.Load(b + i)).Store(y + i);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= count - 8; i += 8)
            {
                Vector256<float> x = Vector256.Load(a + i);
                Vector256<float> s = Vector256<float>.One / (Vector256<float>.One + FastExp.Exp(-x));
                (x * s * Vector256.Load(b + i)).Store(y + i);
            }
        }

        for (; i < count; i++)
        {
            float s = 1f / (1f + FastExp.Exp(-a[i]));
            y[i] = a[i] * s * b[i];
        }
    }

    /// <summary>d_gate = g b s (1 + a - a s) and d_up = g a s, for the floats [start, end).</summary>
    private static unsafe void Backward(nint gate, nint up, nint grad, nint gateGrad, nint upGrad, long start, long count)
    {
        float* a = (float*)gate, b = (float*)up, g = (float*)grad, da = (float*)gateGrad, db = (float*)upGrad;
        long i = start;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i <= count - 16; i += 16)
            {
                Vector512<float> x = Vector512.Load(a + i);
                Vector512<float> s = Vector512<float>.One / (Vector512<float>.One + FastExp.Exp(-x));
                Vector512<float> dy = Vector512.Load(g + i);
                Vector512<float> silu = x * s;
                (dy * silu).Store(db + i);
                (dy * Vector512.Load(b + i) * s * (Vector512<float>.One + x - silu)).Store(da + i);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= count - 8; i += 8)
            {
                Vector256<float> x = Vector256.Load(a + i);
                Vector256<float> s = Vector256<float>.One / (Vector256<float>.One + FastExp.Exp(-x));
                Vector256<float> dy = Vector256.Load(g + i);
                Vector256<float> silu = x * s;
                (dy * silu).Store(db + i);
                (dy * Vector256.Load(b + i) * s * (Vector256<float>.One + x - silu)).Store(da + i);
            }
        }

        for (; i < count; i++)
        {
            float s = 1f / (1f + FastExp.Exp(-a[i]));
            float silu = a[i] * s;
            db[i] = g[i] * silu;
            da[i] = g[i] * b[i] * s * (1 + a[i] - silu);
        }
    }
}

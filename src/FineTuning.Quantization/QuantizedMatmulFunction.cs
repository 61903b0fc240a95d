using System.Collections.Generic;
using FineTuning.Models.Fused;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace FineTuning.Quantization;

/// <summary>
/// <c>y = x W^T + b</c> with W dequantized into a scratch buffer (whole, or chunk by chunk of output rows when it has more
/// values than the layer's chunk limit), as one autograd node. Nothing is saved for backward but the frozen layer: the
/// input gradient <c>dx = g W</c> dequantizes W again, so a dense copy never outlives one product. Re-dequantizing costs
/// a few percent of the product it feeds (docs/benchmarks/qlora-memory.md); keeping the copy would cost a dense weight
/// per layer until backward, the memory QLoRA exists to save. W and b get no gradient (they are not autograd inputs).
/// The scratch buffer is one per thread, shared by every quantized layer and grown to the largest weight (chunk) seen:
/// a fresh dense tensor per call left a hole of exactly its size in glibc's heap each time, which the next weight of the
/// same size cannot reuse (libtorch allocates with posix_memalign, which asks for the size plus the alignment), and on a
/// 24-layer model those holes cost hundreds of MiB (docs/benchmarks/qlora-memory.md).
/// </summary>
internal sealed class QuantizedMatmulFunction : SingleTensorFunction<QuantizedMatmulFunction>
{
    public override string Name => "QuantizedLinear";

    /// <summary>vars: x (already checked by the layer: [..., in], the layer's compute dtype), then the <see cref="Frozen"/> layer state.</summary>
    public override Tensor forward(AutogradContext ctx, params object[] vars)
    {
        var x = (Tensor)vars[0];
        var frozen = (Frozen)vars[1];
        QuantizedWeight w = frozen.Weight;
        long[] shape = x.shape;
        using Tensor x2 = x.reshape(-1, w.Columns);
        long[] outShape = (long[])shape.Clone();
        outShape[^1] = w.Rows;
        // The output is allocated in its final shape and returned as is (not as a view of a 2-D result), so callers may
        // add into it in place (QuantizedLinear.OutputWritableInPlace); the products write into a 2-D view of it. It
        // is allocated before the dense weight, which is then the newest block on the native heap when it is freed.
        Tensor y = empty(outShape, frozen.DType, x.device);
        using (Tensor y2 = y.view(-1, w.Rows))
        {
            // Output columns chunk by chunk (one GEMM when a chunk covers W), so a dense copy never outlives one chunk.
            Models.RowBlocks.Product(x2, y2, w.Rows, frozen.ChunkRows, (start, count) => Dense(w, start, count, frozen.DType, frozen.Method));
            if (frozen.Bias is not null) y2.add_(frozen.Bias);
        }

        ctx.save_data("frozen", frozen);
        ctx.save_data("shape", shape);
        return y;
    }

    public override List<Tensor> backward(AutogradContext ctx, Tensor grad_output)
    {
        var frozen = (Frozen)ctx.get_data("frozen");
        var shape = (long[])ctx.get_data("shape");
        QuantizedWeight w = frozen.Weight;
        Tensor inputGradient;
        using (var scope = NewDisposeScope())
        {
            SavedTensors.Take(ctx); // nothing is saved, but the same bookkeeping as every custom backward (SavedTensors)
            using Tensor g = grad_output.reshape(-1, w.Rows);
            // The first chunk's product overwrites the gradient (no zero-filled buffer to accumulate into); one chunk is one GEMM.
            Tensor gx = empty(new[] { g.shape[0], w.Columns }, g.dtype, g.device);
            Models.RowBlocks.InputGradient(g, gx, w.Rows, frozen.ChunkRows, (start, count) => Dense(w, start, count, g.dtype, frozen.Method));

            // The returned wrapper would otherwise live in the step's scope until the step ends: one [tokens, in]
            // tensor per quantized projection (SavedTensors disposes it at the next custom backward).
            inputGradient = SavedTensors.Return(gx.reshape(shape));
        }

        // Likewise the incoming gradient's wrapper: one [tokens, out] tensor per projection.
        SavedTensors.Release(grad_output);
        // One entry per argument passed to apply: none for the frozen state.
        return new List<Tensor> { inputGradient, null! };
    }

    /// <summary>
    /// Rows [start, start + count) of W dequantized into this thread's scratch buffer, as a [count, in] view of it: valid
    /// until the next call on this thread (every use ends inside the forward or backward that made it).
    /// </summary>
    internal static Tensor Dense(QuantizedWeight w, long start, long count, ScalarType dtype, DequantizeMethod method)
    {
        long values = count * w.Columns;
        Tensor? scratch = t_scratch;
        if (scratch is null || scratch.IsInvalid || scratch.dtype != dtype || scratch.device_type != w.Packed.device_type || scratch.numel() < values)
        {
            long size = scratch is { IsInvalid: false } && scratch.dtype == dtype ? System.Math.Max(values, scratch.numel()) : values;
            scratch?.Dispose();
            t_scratch = null;
            using (NewDisposeScope()) scratch = empty(new[] { size }, dtype, w.Packed.device).DetachFromDisposeScope();
            t_scratch = scratch;
        }

        using Tensor flat = scratch.narrow(0, 0, values);
        Tensor dense = flat.view(count, w.Columns);
        w.DequantizeRowsInto(start, count, dense, method);
        return dense;
    }

    [System.ThreadStatic]
    private static Tensor? t_scratch;

    /// <summary>The layer's frozen state: not an autograd input.</summary>
    internal sealed record Frozen(QuantizedWeight Weight, Tensor? Bias, ScalarType DType, DequantizeMethod Method, long ChunkRows);
}

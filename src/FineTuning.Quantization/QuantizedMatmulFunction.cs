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
            if (frozen.ChunkRows >= w.Rows) OneChunk(x2, frozen, y2);
            else Chunked(x2, frozen, y2);
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
            // The first chunk's product starts the gradient (no zero-filled buffer to accumulate into); one chunk is one GEMM.
            Tensor? gx = null;
            long rows = frozen.ChunkRows;
            for (long r = 0; r < w.Rows; r += rows)
            {
                long n = System.Math.Min(rows, w.Rows - r);
                using Tensor chunk = Dense(w, r, n, g.dtype, frozen.Method);
                using Tensor gPart = g.narrow(1, r, n);
                if (gx is null) gx = gPart.mm(chunk);
                else gx.addmm_(gPart, chunk);
            }

            // The returned wrapper would otherwise live in the step's scope until the step ends: one [tokens, in]
            // tensor per quantized projection (SavedTensors disposes it at the next custom backward).
            inputGradient = SavedTensors.Return(gx!.reshape(shape));
        }

        // Likewise the incoming gradient's wrapper: one [tokens, out] tensor per projection.
        SavedTensors.Release(grad_output);
        // One entry per argument passed to apply: none for the frozen state.
        return new List<Tensor> { inputGradient, null! };
    }

    /// <summary>The whole weight in one chunk: one GEMM written straight into <paramref name="y2"/>, then the bias.</summary>
    private static void OneChunk(Tensor x2, Frozen frozen, Tensor y2)
    {
        using Tensor weight = Dense(frozen.Weight, 0, frozen.Weight.Rows, frozen.DType, frozen.Method);
        using Tensor wt = weight.t();
        y2.addmm_(x2, wt, beta: 0, alpha: 1);
        if (frozen.Bias is not null) y2.add_(frozen.Bias);
    }

    /// <summary>Output columns chunk by chunk into <paramref name="y2"/>, so a dense copy of W never outlives one chunk.</summary>
    private static void Chunked(Tensor x2, Frozen frozen, Tensor y2)
    {
        QuantizedWeight w = frozen.Weight;
        long rows = frozen.ChunkRows;
        for (long r = 0; r < w.Rows; r += rows)
        {
            long n = System.Math.Min(rows, w.Rows - r);
            using Tensor chunk = Dense(w, r, n, frozen.DType, frozen.Method);
            using Tensor chunkT = chunk.t();
            using Tensor target = y2.narrow(1, r, n);
            target.addmm_(x2, chunkT, beta: 0, alpha: 1);
        }

        if (frozen.Bias is not null) y2.add_(frozen.Bias);
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

using System.Collections.Generic;
using FineTuning.Models.Fused;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace FineTuning.Quantization;

/// <summary>
/// <c>y = x W^T + b</c> with W dequantized into a temporary (whole, or chunk by chunk of output rows when it has more
/// values than the layer's chunk limit), as one autograd node. Nothing is saved for backward but the frozen layer: the
/// input gradient <c>dx = g W</c> dequantizes W again, so a dense copy never outlives one product. Re-dequantizing costs
/// a few percent of the product it feeds (docs/benchmarks/qlora-memory.md); keeping the copy would cost a dense weight
/// per layer until backward, the memory QLoRA exists to save. W and b get no gradient (they are not autograd inputs).
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
        using Tensor y2 = frozen.ChunkRows >= w.Rows ? OneChunk(x2, frozen) : Chunked(x2, frozen);
        ctx.save_data("frozen", frozen);
        ctx.save_data("shape", shape);
        long[] outShape = (long[])shape.Clone();
        outShape[^1] = w.Rows;
        return y2.reshape(outShape);
    }

    public override List<Tensor> backward(AutogradContext ctx, Tensor grad_output)
    {
        var frozen = (Frozen)ctx.get_data("frozen");
        var shape = (long[])ctx.get_data("shape");
        QuantizedWeight w = frozen.Weight;
        Tensor inputGradient;
        using (var scope = NewDisposeScope())
        {
            SavedTensors.DisposeReturned();
            using Tensor g = grad_output.reshape(-1, w.Rows);
            // The gradient is allocated before any dequantized chunk, so each chunk is the newest block on the native
            // heap when it is freed (no chunk-sized hole left behind; docs/benchmarks/hot-paths.md). The first chunk's
            // product overwrites it (beta 0); one chunk is one GEMM.
            Tensor gx = empty(new[] { g.shape[0], w.Columns }, g.dtype, g.device);
            long rows = frozen.ChunkRows;
            for (long r = 0; r < w.Rows; r += rows)
            {
                long n = System.Math.Min(rows, w.Rows - r);
                using Tensor chunk = w.DequantizeRows(r, n, g.dtype, frozen.Method);
                using Tensor gPart = g.narrow(1, r, n);
                gx.addmm_(gPart, chunk, beta: r == 0 ? 0 : 1, alpha: 1);
            }

            // The returned wrapper would otherwise live in the step's scope until the step ends: one [tokens, in]
            // tensor per quantized projection (SavedTensors disposes it at the next custom backward).
            inputGradient = SavedTensors.Return(gx.reshape(shape));
        }

        // Likewise the incoming gradient's wrapper: one [tokens, out] tensor per projection.
        SavedTensors.Release(grad_output);
        // One entry per argument passed to apply: none for the frozen state.
        return new List<Tensor> { inputGradient, null! };
    }

    /// <summary>The whole weight in one chunk: one GEMM written straight into the output, then the bias.</summary>
    private static Tensor OneChunk(Tensor x2, Frozen frozen)
    {
        // The output first, then the dense weight: the weight is then the newest block on the native heap when it is
        // freed, so the next layer's weight of the same size reuses its memory (docs/benchmarks/hot-paths.md).
        Tensor y = empty(new[] { x2.shape[0], frozen.Weight.Rows }, frozen.DType, x2.device);
        using Tensor weight = frozen.Weight.DequantizeRows(0, frozen.Weight.Rows, frozen.DType, frozen.Method);
        using Tensor wt = weight.t();
        y.addmm_(x2, wt, beta: 0, alpha: 1);
        if (frozen.Bias is not null) y.add_(frozen.Bias);
        return y;
    }

    /// <summary>Output columns chunk by chunk, so a dense copy of W never outlives one chunk.</summary>
    private static Tensor Chunked(Tensor x2, Frozen frozen)
    {
        QuantizedWeight w = frozen.Weight;
        Tensor y2 = empty(new[] { x2.shape[0], w.Rows }, frozen.DType, x2.device);
        long rows = frozen.ChunkRows;
        for (long r = 0; r < w.Rows; r += rows)
        {
            long n = System.Math.Min(rows, w.Rows - r);
            using Tensor chunk = w.DequantizeRows(r, n, frozen.DType, frozen.Method);
            using Tensor part = x2.matmul(chunk.t());
            using Tensor target = y2.narrow(1, r, n);
            target.copy_(part);
        }

        if (frozen.Bias is not null) y2.add_(frozen.Bias);
        return y2;
    }

    /// <summary>The layer's frozen state: not an autograd input.</summary>
    internal sealed record Frozen(QuantizedWeight Weight, Tensor? Bias, ScalarType DType, DequantizeMethod Method, long ChunkRows);
}

using System.Collections.Generic;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace FineTuning.Quantization;

/// <summary>
/// <c>y = x W^T + b</c> with W dequantized chunk by chunk of output rows, as one autograd node. Nothing is saved
/// for backward but the frozen layer: the input gradient <c>dx = g W</c> dequantizes the same chunks again, so a
/// dense copy of W never outlives one chunk. W and b get no gradient (they are not autograd inputs).
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
        using Tensor y2 = empty(new[] { x2.shape[0], w.Rows }, frozen.DType, x.device);
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
        using Tensor g = grad_output.reshape(-1, w.Rows);
        using Tensor gx = zeros(new[] { g.shape[0], w.Columns }, g.dtype, g.device);
        long rows = frozen.ChunkRows;
        for (long r = 0; r < w.Rows; r += rows)
        {
            long n = System.Math.Min(rows, w.Rows - r);
            using Tensor chunk = w.DequantizeRows(r, n, g.dtype, frozen.Method);
            using Tensor gPart = g.narrow(1, r, n);
            gx.addmm_(gPart, chunk);
        }
        // One entry per argument passed to apply: none for the frozen state.
        return new List<Tensor> { gx.reshape(shape), null! };
    }

    /// <summary>The layer's frozen state: not an autograd input.</summary>
    internal sealed record Frozen(QuantizedWeight Weight, Tensor? Bias, ScalarType DType, DequantizeMethod Method, long ChunkRows);
}

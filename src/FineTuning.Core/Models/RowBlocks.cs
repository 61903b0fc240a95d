using System;
using static TorchSharp.torch;

namespace FineTuning.Models;

/// <summary>
/// The two products of a frozen linear map whose weight W [rows, in] is made dense one block of rows at a time (a
/// quantized projection, a quantized output head): no dense copy of more than one block exists at once, and a
/// single block covering W is one GEMM. Shared by QLoRA's <c>QuantizedMatmulFunction</c> and the chunked loss's
/// <see cref="OutputHead"/>. <c>denseRows(start, count)</c> returns W[start, start + count) as a [count, in] tensor
/// the caller disposes (it may be a view of a reused buffer: each is used before the next call).
/// </summary>
internal static class RowBlocks
{
    /// <summary>
    /// <c>y2 = x2 W^T</c>, block by block into column slices of <paramref name="y2"/> (x2 [tokens, in], y2 [tokens,
    /// rows]; y2 is overwritten, so it need not be initialised).
    /// </summary>
    internal static void Product(Tensor x2, Tensor y2, long rows, long blockRows, Func<long, long, Tensor> denseRows)
    {
        for (long start = 0; start < rows; start += blockRows)
        {
            long count = Math.Min(blockRows, rows - start);
            using Tensor block = denseRows(start, count);
            using Tensor blockT = block.t();
            using Tensor target = y2.narrow(1, start, count);
            target.addmm_(x2, blockT, beta: 0, alpha: 1);
        }
    }

    /// <summary>
    /// <c>gx = g2 W</c>, summed over the blocks (g2 [tokens, rows], gx [tokens, in]; the first block's product
    /// overwrites gx, so it need not be initialised).
    /// </summary>
    internal static void InputGradient(Tensor g2, Tensor gx, long rows, long blockRows, Func<long, long, Tensor> denseRows)
    {
        for (long start = 0; start < rows; start += blockRows)
        {
            long count = Math.Min(blockRows, rows - start);
            using Tensor block = denseRows(start, count);
            using Tensor part = g2.narrow(1, start, count);
            gx.addmm_(part, block, beta: start == 0 ? 0 : 1, alpha: 1);
        }
    }
}

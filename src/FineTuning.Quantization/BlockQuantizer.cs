using System;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Quantization;

/// <summary>
/// Quantization of a weight matrix with TorchSharp ops (vectorised and multi-threaded by libtorch), following
/// bitsandbytes' <c>quantize_4bit</c> / <c>quantize_blockwise</c>: per block the absmax, the values multiplied by
/// 1/absmax (an all-zero block gets scale 0 and code "zero"), nearest code; optional double quantization of the
/// absmax values (subtract their mean, then 8-bit dynamic-map blocks of 256).
/// </summary>
internal static class BlockQuantizer
{
    public const int NestedBlockSize = 256;

    public static void CheckWeight(Tensor weight, int blockSize, string what)
    {
        ArgumentNullException.ThrowIfNull(weight);
        if (weight.IsInvalid) throw new QuantizationException($"{what} is disposed.");
        if (weight.dim() != 2)
            throw new QuantizationException($"{what} must be a 2-D [out, in] matrix; its shape is [{string.Join(", ", weight.shape)}].");
        if (!weight.is_floating_point())
            throw new QuantizationException($"{what} must be floating-point to be quantized; its dtype is {weight.dtype}.");
        CheckBlockSize(blockSize);
        if (weight.shape[1] % blockSize != 0)
            throw new QuantizationException(
                $"{what} has {weight.shape[1]} input features, which is not a multiple of the block size {blockSize}; " +
                "choose a block size that divides the input features (blocks never straddle rows).");
    }

    public static void CheckBlockSize(int blockSize)
    {
        if (blockSize < 32 || blockSize > 4096 || (blockSize & (blockSize - 1)) != 0)
            throw new QuantizationException($"The block size must be a power of two from 32 to 4096 (was {blockSize}).");
    }

    /// <summary>Rows quantized at once: about 2^20 values, so the temporaries (float32 copies, int64 codes: ~20 bytes per
    /// value) stay near 20 MB for any layer instead of 0.9 GB for an 11008 x 4096 projection.</summary>
    public const long ChunkElements = 1 << 20;

    /// <summary>
    /// Packed codes (uint8, 1-D) and absmax per block (float32), quantized <paramref name="chunkElements"/> values (whole
    /// rows) at a time: blocks never straddle rows, so the result is the same for any chunk size.
    /// </summary>
    public static (Tensor Packed, Tensor Absmax) Quantize(Tensor weight, QuantizationType type, int blockSize, long chunkElements = ChunkElements)
    {
        long rows = weight.shape[0], chunkRows = Math.Clamp(chunkElements / weight.shape[1], 1, rows);
        if (chunkRows == rows) return QuantizeRows(weight, type, blockSize);
        using var scope = NewDisposeScope();
        var packed = new System.Collections.Generic.List<Tensor>();
        var absmax = new System.Collections.Generic.List<Tensor>();
        for (long r = 0; r < rows; r += chunkRows)
        {
            using var chunkScope = NewDisposeScope();
            (Tensor p, Tensor a) = QuantizeRows(weight.narrow(0, r, Math.Min(chunkRows, rows - r)), type, blockSize);
            packed.Add(p.MoveToOuterDisposeScope());
            absmax.Add(a.MoveToOuterDisposeScope());
        }
        return (cat(packed, 0).MoveToOuterDisposeScope(), cat(absmax, 0).MoveToOuterDisposeScope());
    }

    private static (Tensor Packed, Tensor Absmax) QuantizeRows(Tensor weight, QuantizationType type, int blockSize)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        Tensor blocks = weight.detach().cpu().to(ScalarType.Float32).contiguous().view(-1, blockSize);
        Tensor absmax = blocks.abs().amax(new long[] { 1 });
        Tensor codes = type.Encode(blocks.mul(Reciprocal(absmax).unsqueeze(1)));
        Tensor packed = type.BitsPerValue == 4
            ? PackNibbles(codes)
            : codes.flatten().to(ScalarType.Byte);
        return (packed.MoveToOuterDisposeScope(), absmax.MoveToOuterDisposeScope());
    }

    /// <summary>Double quantization: (codes uint8 [n], nested absmax float32 [ceil(n/256)], offset = mean).</summary>
    public static (Tensor Codes, Tensor NestedAbsmax, float Offset) QuantizeScales(Tensor absmax)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        long n = absmax.shape[0];
        float offset = absmax.mean().item<float>();
        Tensor centred = absmax.sub(offset);
        long nested = (n + NestedBlockSize - 1) / NestedBlockSize;
        Tensor padded = nested * NestedBlockSize == n ? centred : nn.functional.pad(centred, new long[] { 0, (nested * NestedBlockSize) - n });
        Tensor blocks = padded.view(nested, NestedBlockSize);
        Tensor nestedAbsmax = blocks.abs().amax(new long[] { 1 });
        Tensor normalized = blocks.mul(Reciprocal(nestedAbsmax).unsqueeze(1)).flatten().narrow(0, 0, n);
        using Tensor boundaries = tensor(Codebooks.Midpoints(Codebooks.Dynamic));
        Tensor codes = bucketize(normalized, boundaries).to(ScalarType.Byte);
        return (codes.MoveToOuterDisposeScope(), nestedAbsmax.MoveToOuterDisposeScope(), offset);
    }

    // bitsandbytes packs value 2j into the high nibble and value 2j+1 into the low nibble of byte j; so do we.
    private static Tensor PackNibbles(Tensor codes)
    {
        Tensor pairs = codes.flatten().view(-1, 2);
        return pairs.select(1, 0).mul(16).add_(pairs.select(1, 1)).to(ScalarType.Byte);
    }

    private static Tensor Reciprocal(Tensor absmax) => absmax.reciprocal().masked_fill_(absmax.eq(0), 0);
}

using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Quantization;

/// <summary>
/// Dequantization as a composition of TorchSharp ops (the baseline, and the path for non-CPU devices): a lookup
/// of every packed byte in a 256-entry table (byte -> value pair for 4-bit codes, byte -> value for 8-bit codes)
/// with <c>index_select</c>, times the block scale, in float32, then converted to the requested dtype.
/// </summary>
internal static class DequantizeComposed
{
    private static readonly float[] NF4Pairs = PairTable(Codebooks.NF4);
    private static readonly float[] FP4Pairs = PairTable(Codebooks.FP4);

    public static Tensor Run(QuantizedWeight w, long start, long count, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        Device device = w.Packed.device;
        long bytesPerRow = w.Columns * w.Type.BitsPerValue / 8;
        Tensor bytes = w.Packed.narrow(0, start * bytesPerRow, count * bytesPerRow).to(ScalarType.Int64);
        Tensor values = w.Type.BitsPerValue == 4
            ? tensor(PairsOf(w.Type), device: device).view(256, 2).index_select(0, bytes)
            : tensor(w.Type.Table, device: device).index_select(0, bytes);
        long blocks = count * w.Columns / w.BlockSize;
        Tensor scaled = values.view(blocks, w.BlockSize).mul_(Scales(w, start * w.Columns / w.BlockSize, blocks).unsqueeze(1));
        return scaled.view(count, w.Columns).to(dtype).MoveToOuterDisposeScope();
    }

    /// <summary>The float32 scales of blocks [first, first + count): absmax, or map[code] * nested absmax + offset.</summary>
    public static Tensor Scales(QuantizedWeight w, long first, long count)
    {
        using var scope = NewDisposeScope();
        if (w.Scales is null) return w.Absmax!.narrow(0, first, count).clone().MoveToOuterDisposeScope();
        ScaleCodes s = w.Scales;
        Device device = s.Codes.device;
        Tensor values = tensor(s.Map, device: device).index_select(0, s.Codes.narrow(0, first, count).to(ScalarType.Int64));
        Tensor nestedIndex = arange(first, first + count, ScalarType.Int64, device).div_(s.BlockSize, RoundingMode.floor);
        Tensor nested = s.NestedAbsmax.index_select(0, nestedIndex);
        Tensor offset = tensor(s.Offset, ScalarType.Float32, device);
        return values.mul_(nested).add_(offset).MoveToOuterDisposeScope();
    }

    private static float[] PairsOf(QuantizationType type) =>
        ReferenceEquals(type, QuantizationType.NF4) ? NF4Pairs : ReferenceEquals(type, QuantizationType.FP4) ? FP4Pairs : PairTable(type.Table);

    /// <summary>Byte b -> (value of its high nibble, value of its low nibble): the element order bitsandbytes packs.</summary>
    internal static float[] PairTable(float[] codebook)
    {
        var t = new float[512];
        for (int b = 0; b < 256; b++)
        {
            t[2 * b] = codebook[b >> 4];
            t[(2 * b) + 1] = codebook[b & 15];
        }
        return t;
    }
}

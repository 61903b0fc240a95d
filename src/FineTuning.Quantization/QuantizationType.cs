using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Quantization;

/// <summary>
/// A block quantization format, chosen by instance: <see cref="NF4"/>, <see cref="FP4"/> or <see cref="Int8"/>.
/// Each block of values is divided by its absolute maximum and every quotient in [-1, 1] is stored as the code of
/// the nearest value of the format's <see cref="Codebook"/> (4-bit codes two to a byte, 8-bit codes one per byte).
/// </summary>
public sealed class QuantizationType
{
    private readonly float[] _codebook;
    private readonly Func<Tensor, Tensor> _encode;

    private QuantizationType(string name, int bits, float[] codebook, Func<QuantizationType, Func<Tensor, Tensor>> encoder)
    {
        Name = name;
        BitsPerValue = bits;
        _codebook = codebook;
        _encode = encoder(this);
    }

    /// <summary>4-bit NormalFloat of QLoRA (bitsandbytes "nf4"): 16 values with an exact zero, dense near zero for normally distributed weights.</summary>
    public static QuantizationType NF4 { get; } = new("nf4", 4, Codebooks.NF4, _ => EncodeSorted(Codebooks.NF4));

    /// <summary>4-bit float e2m1 as bitsandbytes defines it ("fp4"): sign bit plus 8 magnitudes {0, 1/192, 1/6, 1/4, 1/3, 1/2, 2/3, 1}.</summary>
    public static QuantizationType FP4 { get; } = new("fp4", 4, Codebooks.FP4, _ => EncodeFp4);

    /// <summary>8-bit symmetric absmax: <c>q = round(127 x / absmax)</c> in [-127, 127], one signed byte per value.</summary>
    public static QuantizationType Int8 { get; } = new("int8", 8, Codebooks.Int8, _ => EncodeInt8);

    /// <summary>All types, by <see cref="Name"/>.</summary>
    public static IReadOnlyList<QuantizationType> All { get; } = new[] { NF4, FP4, Int8 };

    /// <summary>The name bitsandbytes uses ("nf4", "fp4"), or "int8"; written into saved files.</summary>
    public string Name { get; }

    /// <summary>4 or 8.</summary>
    public int BitsPerValue { get; }

    /// <summary>The value of each code, as a fraction of the block's absolute maximum (16 or 256 entries).</summary>
    public IReadOnlyList<float> Codebook => _codebook;

    internal float[] Table => _codebook;

    /// <summary>The type named <paramref name="name"/> (case-insensitive), or null.</summary>
    public static QuantizationType? FromName(string name) =>
        All.FirstOrDefault(t => string.Equals(t.Name, name, StringComparison.OrdinalIgnoreCase));

    /// <inheritdoc />
    public override string ToString() => Name.ToUpperInvariant();

    /// <summary>Codes (int64) of normalized float32 values in [-1, 1].</summary>
    internal Tensor Encode(Tensor normalized) => _encode(normalized);

    // Nearest value with bitsandbytes' tie rule (its dQuantizeNF4 tests "x > midpoint"): the code is the number of
    // midpoints strictly below x, which is what bucketize(right: false) returns.
    private static Func<Tensor, Tensor> EncodeSorted(float[] sorted)
    {
        float[] mid = Codebooks.Midpoints(sorted);
        return normalized =>
        {
            using Tensor boundaries = tensor(mid);
            return bucketize(normalized, boundaries);
        };
    }

    // bitsandbytes' dQuantizeFP4: sign bit 8 when x < 0, then the nearest magnitude with "|x| > midpoint" ties.
    private static readonly float[] Fp4Magnitudes = { 0f, 0.0625f / 12f, 2f / 12f, 3f / 12f, 4f / 12f, 6f / 12f, 8f / 12f, 1f };
    private static readonly long[] Fp4MagnitudeCodes = { 0, 1, 6, 7, 4, 5, 2, 3 };

    private static Tensor EncodeFp4(Tensor normalized)
    {
        using var scope = NewDisposeScope();
        Tensor boundaries = tensor(Codebooks.Midpoints(Fp4Magnitudes));
        Tensor codes = tensor(Fp4MagnitudeCodes);
        Tensor magnitude = codes.index_select(0, bucketize(normalized.abs(), boundaries).flatten()).view(normalized.shape);
        Tensor sign = normalized.lt(0).to(ScalarType.Int64).mul_(8);
        return magnitude.add_(sign).MoveToOuterDisposeScope();
    }

    private static Tensor EncodeInt8(Tensor normalized)
    {
        using var scope = NewDisposeScope();
        Tensor q = normalized.mul(127).round_().clamp_(-127, 127).to(ScalarType.Int64);
        return q.add_(256).remainder_(256).MoveToOuterDisposeScope();
    }
}

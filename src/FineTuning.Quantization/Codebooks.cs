using System;

namespace FineTuning.Quantization;

/// <summary>The value tables (codebooks) the quantization types map their codes to.</summary>
internal static class Codebooks
{
    /// <summary>
    /// NF4 (4-bit NormalFloat), the 16 values of Dettmers et al. 2023, "QLoRA: Efficient Finetuning of Quantized
    /// LLMs" (https://arxiv.org/abs/2305.14314), copied from bitsandbytes <c>functional.get_4bit_type("nf4")</c>
    /// (the same constants as its CUDA <c>dDequantizeNF4</c>). Asymmetric: 7 negative values, an exact zero at
    /// code 7 and 8 positive values; code i is the i-th value.
    /// </summary>
    public static readonly float[] NF4 =
    {
        -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f,
        -0.28444138169288635f, -0.18477343022823334f, -0.09105003625154495f, 0.0f,
        0.07958029955625534f, 0.16093020141124725f, 0.24611230194568634f, 0.33791524171829224f,
        0.44070982933044434f, 0.5626170039176941f, 0.7229568362236023f, 1.0f,
    };

    /// <summary>
    /// FP4 (e2m1 as bitsandbytes defines it, bias 3 with subnormals): bitsandbytes <c>get_4bit_type("fp4")</c>
    /// lists the raw values <c>[0, 0.0625, 8, 12, 4, 6, 2, 3, -0, -0.0625, -8, -12, -4, -6, -2, -3]</c> for codes
    /// 0..15 (bit 3 is the sign) and divides them by 12, their absolute maximum; these are the quotients (its
    /// CUDA <c>dDequantizeFP4Tree</c> returns the same constants).
    /// </summary>
    public static readonly float[] FP4 =
    {
        0f, 0.0625f / 12f, 8f / 12f, 1f, 4f / 12f, 6f / 12f, 2f / 12f, 3f / 12f,
        -0f, -0.0625f / 12f, -8f / 12f, -1f, -4f / 12f, -6f / 12f, -2f / 12f, -3f / 12f,
    };

    /// <summary>INT8 absmax: code byte b is the signed byte q = (sbyte)b and means q / 127 (b = 0x80 is never produced).</summary>
    public static readonly float[] Int8 = CreateInt8();

    /// <summary>
    /// bitsandbytes' signed 8-bit dynamic map (<c>create_dynamic_map(signed=True, max_exponent_bits=7)</c>, Dettmers
    /// 2015, https://arxiv.org/abs/1511.04561), sorted, 256 values in [-1, 1]: used for the double quantization of
    /// the block scales. Computed in double and rounded to float (bitsandbytes computes in float32, so a last-bit
    /// difference is possible; files carry the map they were made with, and loading uses the stored map).
    /// </summary>
    public static readonly float[] Dynamic = CreateDynamic();

    /// <summary>Midpoints between consecutive values of a sorted table: the decision thresholds of nearest rounding.</summary>
    public static float[] Midpoints(float[] sorted)
    {
        var m = new float[sorted.Length - 1];
        for (int i = 0; i < m.Length; i++) m[i] = (float)(((double)sorted[i] + sorted[i + 1]) / 2);
        return m;
    }

    private static float[] CreateInt8()
    {
        var t = new float[256];
        for (int b = 0; b < 256; b++) t[b] = (sbyte)(byte)b / 127f;
        return t;
    }

    private static float[] CreateDynamic()
    {
        const int maxExponentBits = 7;
        var data = new System.Collections.Generic.List<double>(256);
        for (int i = 0; i < maxExponentBits; i++)
        {
            int fractionItems = (1 << i) + 1; // signed: 2^(i + non_sign_bits - max_exponent_bits) + 1, non_sign_bits = 7
            double scale = Math.Pow(10, -(maxExponentBits - 1) + i);
            for (int k = 0; k < fractionItems - 1; k++)
            {
                double lo = 0.1 + (0.9 * k / (fractionItems - 1));
                double hi = 0.1 + (0.9 * (k + 1) / (fractionItems - 1));
                double mean = (lo + hi) / 2;
                data.Add(scale * mean);
                data.Add(-scale * mean);
            }
        }
        data.Add(0);
        data.Add(1);
        data.Sort();
        var result = new float[data.Count];
        for (int i = 0; i < result.Length; i++) result[i] = (float)data[i];
        return result;
    }
}

using System;
using System.Buffers.Binary;

namespace FineTuning.Models.Gguf;

/// <summary>
/// Encodes float32 values into ggml's tensor layouts, bit for bit as ggml's reference quantizers
/// (<c>quantize_row_q8_0_ref</c>, <c>quantize_row_q4_0_ref</c> in ggml-quants.c), and decodes them back.
/// Blocks run along rows (ggml's ne[0]), so a row's length must be a multiple of the block size.
/// </summary>
internal static class GgufQuantizer
{
    internal const int QuantBlock = 32;
    private const int Q8Bytes = 2 + QuantBlock;
    private const int Q4Bytes = 2 + (QuantBlock / 2);

    internal static int BlockSize(GgufTensorType type) => type is GgufTensorType.Q8_0 or GgufTensorType.Q4_0 ? QuantBlock : 1;

    internal static bool CanStore(GgufTensorType type, long rowLength) => rowLength % BlockSize(type) == 0;

    internal static long ByteSize(GgufTensorType type, long elements) => type switch
    {
        GgufTensorType.F32 => elements * 4,
        GgufTensorType.F16 => elements * 2,
        GgufTensorType.Q8_0 => elements / QuantBlock * Q8Bytes,
        GgufTensorType.Q4_0 => elements / QuantBlock * Q4Bytes,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "not a GGUF tensor type this library writes."),
    };

    internal static byte[] Encode(ReadOnlySpan<float> values, GgufTensorType type)
    {
        if (values.Length % BlockSize(type) != 0) throw new ArgumentException($"{values.Length} values do not split into {type} blocks.", nameof(values));
        var bytes = new byte[ByteSize(type, values.Length)];
        Span<byte> output = bytes;
        switch (type)
        {
            case GgufTensorType.F32:
                for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(output[(4 * i)..], values[i]);
                break;
            case GgufTensorType.F16:
                for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteHalfLittleEndian(output[(2 * i)..], (Half)values[i]);
                break;
            case GgufTensorType.Q8_0:
                for (int b = 0; b < values.Length / QuantBlock; b++) EncodeQ8(values.Slice(b * QuantBlock, QuantBlock), output.Slice(b * Q8Bytes, Q8Bytes));
                break;
            default:
                for (int b = 0; b < values.Length / QuantBlock; b++) EncodeQ4(values.Slice(b * QuantBlock, QuantBlock), output.Slice(b * Q4Bytes, Q4Bytes));
                break;
        }

        return bytes;
    }

    internal static float[] Decode(ReadOnlySpan<byte> bytes, GgufTensorType type, int count)
    {
        var values = new float[count];
        for (int i = 0; i < count; i++)
        {
            values[i] = type switch
            {
                GgufTensorType.F32 => BinaryPrimitives.ReadSingleLittleEndian(bytes[(4 * i)..]),
                GgufTensorType.F16 => (float)BinaryPrimitives.ReadHalfLittleEndian(bytes[(2 * i)..]),
                GgufTensorType.Q8_0 => Scale(bytes, (i / QuantBlock) * Q8Bytes) * (sbyte)bytes[((i / QuantBlock) * Q8Bytes) + 2 + (i % QuantBlock)],
                GgufTensorType.Q4_0 => Scale(bytes, (i / QuantBlock) * Q4Bytes) * (Nibble(bytes.Slice(((i / QuantBlock) * Q4Bytes) + 2, Q4Bytes - 2), i % QuantBlock) - 8),
                _ => throw new ArgumentOutOfRangeException(nameof(type), type, "not a GGUF tensor type this library reads."),
            };
        }

        return values;
    }

    private static float Scale(ReadOnlySpan<byte> bytes, int offset) => (float)BinaryPrimitives.ReadHalfLittleEndian(bytes[offset..]);

    private static int Nibble(ReadOnlySpan<byte> qs, int j) => j < QuantBlock / 2 ? qs[j] & 0x0F : qs[j - (QuantBlock / 2)] >> 4;

    /// <summary>d = amax / 127 (stored as fp16), q = round(x / d) with halves away from zero, computed with the float32 d as ggml does.</summary>
    private static void EncodeQ8(ReadOnlySpan<float> x, Span<byte> block)
    {
        float amax = 0;
        foreach (float v in x) amax = MathF.Max(amax, MathF.Abs(v));
        float d = amax / 127f;
        float id = d != 0 ? 1f / d : 0f;
        BinaryPrimitives.WriteHalfLittleEndian(block, (Half)d);
        for (int j = 0; j < QuantBlock; j++) block[2 + j] = (byte)(sbyte)MathF.Round(x[j] * id, MidpointRounding.AwayFromZero);
    }

    /// <summary>
    /// d = max / -8 where max is the first value of largest magnitude (sign kept), q = min(15, trunc(x / d + 8.5)):
    /// the extreme value maps exactly to code 0, the opposite end saturates at 15.
    /// </summary>
    private static void EncodeQ4(ReadOnlySpan<float> x, Span<byte> block)
    {
        float amax = 0, max = 0;
        foreach (float v in x)
        {
            if (amax < MathF.Abs(v))
            {
                amax = MathF.Abs(v);
                max = v;
            }
        }

        float d = max / -8f;
        float id = d != 0 ? 1f / d : 0f;
        BinaryPrimitives.WriteHalfLittleEndian(block, (Half)d);
        for (int j = 0; j < QuantBlock / 2; j++)
        {
            int low = Math.Min(15, (int)(sbyte)(int)((x[j] * id) + 8.5f));
            int high = Math.Min(15, (int)(sbyte)(int)((x[j + (QuantBlock / 2)] * id) + 8.5f));
            block[2 + j] = (byte)(low | (high << 4));
        }
    }
}

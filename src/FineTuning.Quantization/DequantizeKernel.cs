using System;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using FineTuning.Models.Fused;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Quantization;

/// <summary>
/// Hand-written dequantization over the packed bytes, writing straight into the output tensor's memory.
/// 4-bit codes: AVX-512 splits 16 bytes into 32 nibbles (high nibble first, bitsandbytes' order), widens them to
/// int32 lanes and looks up the 16-entry codebook held in one register with <c>vpermps</c>; AVX2 does the same
/// with two 8-entry permutes and a blend; otherwise scalar. 8-bit codes: AVX2 gathers from the 256-entry table.
/// Values are <c>code * scale</c> in float32 (the same single rounding as the composed ops, so results are
/// identical), and bfloat16 output rounds to nearest even as libtorch's conversion does.
/// Blocks are split over libtorch's own threads (<see cref="KernelThreads"/>) from 32K values per thread.
/// </summary>
internal static unsafe class DequantizeKernel
{
    public static bool Supports(QuantizedWeight w, ScalarType dtype) =>
        dtype is ScalarType.Float32 or ScalarType.BFloat16 && w.Packed.device_type == DeviceType.CPU;

    // The parts run on libtorch's own OpenMP threads (KernelThreads, from its grain of 32K values per thread): .NET pool
    // threads competed with libtorch's spinning OpenMP worker for the same cores and measured 2-4x slower up to 2.9M
    // values on 2 cores (docs/benchmarks/qlora-memory.md).
    /// <summary>Dequantizes rows [start, start + count) into <paramref name="output"/>, a contiguous CPU [count, in] tensor.</summary>
    public static void Run(QuantizedWeight w, long start, long count, Tensor output) =>
        Run(w, start, count, output, KernelThreads.MinimumItems(w.BlockSize));

    /// <summary>As the other overload, with at least <paramref name="minimumBlocks"/> blocks per thread (long.MaxValue: one thread).</summary>
    internal static void Run(QuantizedWeight w, long start, long count, Tensor output, long minimumBlocks)
    {
        long firstBlock = start * w.Columns / w.BlockSize;
        long blocks = count * w.Columns / w.BlockSize;
        if (blocks == 0) return;
        var job = new Job(w, firstBlock, TensorMemory.Address(output), output.dtype == ScalarType.BFloat16);
        KernelThreads.For(blocks, minimumBlocks, 1, (from, to, _) => job.Decode(from, to));
    }

    /// <summary>
    /// Dequantizes the rows listed in <paramref name="rows"/> (each in [0, Rows), checked by the caller) into
    /// <paramref name="output"/>, a contiguous CPU [rows.Length, in] tensor: output row i is weight row rows[i]. The
    /// lookup of a quantized embedding; split over libtorch's threads like <see cref="Run(QuantizedWeight, long, long, Tensor)"/>.
    /// </summary>
    public static void Gather(QuantizedWeight w, long[] rows, Tensor output)
    {
        if (rows.Length == 0) return;
        var job = new Job(w, 0, TensorMemory.Address(output), output.dtype == ScalarType.BFloat16);
        long blocksPerRow = w.Columns / w.BlockSize;
        KernelThreads.For(rows.Length, KernelThreads.MinimumItems(w.Columns), 1, (from, to, _) =>
        {
            for (long i = from; i < to; i++) job.DecodeRow(rows[i], i, blocksPerRow);
        });
    }

    /// <summary>Everything one call needs, as raw addresses (native memory: nothing to pin).</summary>
    private sealed class Job
    {
        private readonly nint _packed;
        private readonly nint _absmax;
        private readonly nint _scaleCodes;
        private readonly nint _nestedAbsmax;
        private readonly float[] _nestedMap;
        private readonly float _offset;
        private readonly int _nestedBlock;
        private readonly float[] _table;
        private readonly int _blockSize;
        private readonly int _bits;
        private readonly long _firstBlock;
        private readonly nint _output;
        private readonly bool _bf16;

        public Job(QuantizedWeight w, long firstBlock, nint output, bool bf16)
        {
            _packed = TensorMemory.Address(w.Packed);
            _table = w.Type.Table;
            _blockSize = w.BlockSize;
            _bits = w.Type.BitsPerValue;
            _firstBlock = firstBlock;
            _output = output;
            _bf16 = bf16;
            _nestedMap = Codebooks.Dynamic;
            if (w.Scales is null)
            {
                _absmax = TensorMemory.Address(w.Absmax!);
            }
            else
            {
                _scaleCodes = TensorMemory.Address(w.Scales.Codes);
                _nestedAbsmax = TensorMemory.Address(w.Scales.NestedAbsmax);
                _nestedMap = w.Scales.Map;
                _offset = w.Scales.Offset;
                _nestedBlock = w.Scales.BlockSize;
            }
        }

        /// <summary>Blocks [from, to) relative to the first block of the call, each written at its own place in the output.</summary>
        public void Decode(long from, long to) => Decode(_firstBlock + from, from, to - from);

        /// <summary>The blocks of weight row <paramref name="row"/> into output row <paramref name="outputRow"/>.</summary>
        public void DecodeRow(long row, long outputRow, long blocksPerRow) => Decode(row * blocksPerRow, outputRow * blocksPerRow, blocksPerRow);

        /// <summary><paramref name="count"/> blocks from weight block <paramref name="firstBlock"/> into output blocks from <paramref name="firstOutputBlock"/>.</summary>
        private void Decode(long firstBlock, long firstOutputBlock, long count)
        {
            int bytesPerBlock = _blockSize * _bits / 8;
            Span<float> buffer = _bf16 ? stackalloc float[_blockSize] : default;
            fixed (float* table = _table)
            fixed (float* nestedMap = _nestedMap)
            fixed (float* temp = buffer)
            {
                for (long b = 0; b < count; b++)
                {
                    long block = firstBlock + b;
                    long outBlock = firstOutputBlock + b;
                    float scale = _scaleCodes == 0
                        ? ((float*)_absmax)[block]
                        : (nestedMap[((byte*)_scaleCodes)[block]] * ((float*)_nestedAbsmax)[block / _nestedBlock]) + _offset;
                    byte* src = (byte*)_packed + (block * bytesPerBlock);
                    float* dst = _bf16 ? temp : (float*)_output + (outBlock * _blockSize);
                    if (_bits == 4) Decode4(src, bytesPerBlock, table, scale, dst);
                    else Decode8(src, _blockSize, table, scale, dst);
                    if (_bf16) ToBFloat16(temp, (ushort*)_output + (outBlock * _blockSize), _blockSize);
                }
            }
        }
    }

    internal static void Decode4(byte* src, int bytes, float* table, float scale, float* dst)
    {
        if (Avx512F.IsSupported) Decode4Avx512(src, bytes, table, scale, dst);
        else if (Avx2.IsSupported) Decode4Avx2(src, bytes, table, scale, dst);
        else Decode4Scalar(src, bytes, table, scale, dst);
    }

    /// <summary>16 bytes -> 32 values per step; <paramref name="bytes"/> is a multiple of 16.</summary>
    internal static void Decode4Avx512(byte* src, int bytes, float* table, float scale, float* dst)
    {
        Vector128<byte> mask = Vector128.Create((byte)0x0F);
        Vector512<float> codebook = Vector512.Load(table);
        Vector512<float> s = Vector512.Create(scale);
        for (int j = 0; j < bytes; j += 16)
        {
            Vector128<byte> x = Vector128.Load(src + j);
            Vector128<byte> hi = Vector128.ShiftRightLogical(x.AsUInt16(), 4).AsByte() & mask;
            Vector128<byte> lo = x & mask;
            Vector128<byte> first = Sse2.UnpackLow(hi, lo);   // hi0 lo0 hi1 lo1 ... hi7 lo7
            Vector128<byte> second = Sse2.UnpackHigh(hi, lo); // hi8 lo8 ... hi15 lo15
            (Avx512F.PermuteVar16x32(codebook, Avx512F.ConvertToVector512Int32(first)) * s).Store(dst + (2 * j));
            (Avx512F.PermuteVar16x32(codebook, Avx512F.ConvertToVector512Int32(second)) * s).Store(dst + (2 * j) + 16);
        }
    }

    /// <summary>As <see cref="Decode4Avx512"/> with 8-lane permutes.</summary>
    internal static void Decode4Avx2(byte* src, int bytes, float* table, float scale, float* dst)
    {
        Vector128<byte> mask = Vector128.Create((byte)0x0F);
        Vector256<float> low = Vector256.Load(table);
        Vector256<float> high = Vector256.Load(table + 8);
        Vector256<float> s = Vector256.Create(scale);
        for (int j = 0; j < bytes; j += 16)
        {
            Vector128<byte> x = Vector128.Load(src + j);
            Vector128<byte> hi = Vector128.ShiftRightLogical(x.AsUInt16(), 4).AsByte() & mask;
            Vector128<byte> lo = x & mask;
            Vector128<byte> first = Sse2.UnpackLow(hi, lo);
            Vector128<byte> second = Sse2.UnpackHigh(hi, lo);
            float* d = dst + (2 * j);
            (Lookup16(low, high, Avx2.ConvertToVector256Int32(first)) * s).Store(d);
            (Lookup16(low, high, Avx2.ConvertToVector256Int32(Sse2.ShiftRightLogical128BitLane(first, 8))) * s).Store(d + 8);
            (Lookup16(low, high, Avx2.ConvertToVector256Int32(second)) * s).Store(d + 16);
            (Lookup16(low, high, Avx2.ConvertToVector256Int32(Sse2.ShiftRightLogical128BitLane(second, 8))) * s).Store(d + 24);
        }
    }

    internal static void Decode4Scalar(byte* src, int bytes, float* table, float scale, float* dst)
    {
        for (int j = 0; j < bytes; j++)
        {
            byte b = src[j];
            dst[2 * j] = table[b >> 4] * scale;
            dst[(2 * j) + 1] = table[b & 15] * scale;
        }
    }

    // Codes 0-7 from one permute, 8-15 from the other; bit 3 of the code, moved to the sign bit, picks.
    private static Vector256<float> Lookup16(Vector256<float> low, Vector256<float> high, Vector256<int> index) =>
        Avx.BlendVariable(Avx2.PermuteVar8x32(low, index), Avx2.PermuteVar8x32(high, index), Avx2.ShiftLeftLogical(index, 28).AsSingle());

    internal static void Decode8(byte* src, int count, float* table, float scale, float* dst)
    {
        int j = 0;
        if (Avx2.IsSupported)
        {
            Vector256<float> s = Vector256.Create(scale);
            for (; j + 8 <= count; j += 8)
                (Avx2.GatherVector256(table, Avx2.ConvertToVector256Int32(src + j), 4) * s).Store(dst + j);
        }
        for (; j < count; j++) dst[j] = table[src[j]] * scale;
    }

    /// <summary>float32 -> bfloat16 with round-to-nearest-even (libtorch's rule for finite values).</summary>
    internal static void ToBFloat16(float* src, ushort* dst, int count)
    {
        int i = 0;
        uint* bits = (uint*)src;
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<uint> one = Vector512<uint>.One, bias = Vector512.Create(0x7FFFu);
            for (; i + 32 <= count; i += 32)
            {
                Vector512<uint> a = Vector512.Load(bits + i), b = Vector512.Load(bits + i + 16);
                a = Vector512.ShiftRightLogical(a + bias + (Vector512.ShiftRightLogical(a, 16) & one), 16);
                b = Vector512.ShiftRightLogical(b + bias + (Vector512.ShiftRightLogical(b, 16) & one), 16);
                Vector512.Narrow(a, b).Store(dst + i);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            Vector256<uint> one = Vector256<uint>.One, bias = Vector256.Create(0x7FFFu);
            for (; i + 16 <= count; i += 16)
            {
                Vector256<uint> a = Vector256.Load(bits + i), b = Vector256.Load(bits + i + 8);
                a = Vector256.ShiftRightLogical(a + bias + (Vector256.ShiftRightLogical(a, 16) & one), 16);
                b = Vector256.ShiftRightLogical(b + bias + (Vector256.ShiftRightLogical(b, 16) & one), 16);
                Vector256.Narrow(a, b).Store(dst + i);
            }
        }
        for (; i < count; i++)
        {
            uint v = bits[i];
            dst[i] = (ushort)((v + 0x7FFFu + ((v >> 16) & 1)) >> 16);
        }
    }
}

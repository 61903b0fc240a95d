using System;
using System.Collections.Generic;
using FineTuning.Quantization;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Quantization.Tests;

/// <summary>The hand-written kernel against the composition of TorchSharp ops: identical bits.</summary>
public sealed class KernelTests
{
    public static IEnumerable<object[]> Cases()
    {
        foreach (string type in new[] { "nf4", "fp4", "int8" })
            foreach (bool dq in new[] { false, true })
                foreach (ScalarType dtype in new[] { ScalarType.Float32, ScalarType.BFloat16 })
                    foreach (int blockSize in new[] { 32, 64, 256 })
                        yield return new object[] { type, dq, dtype, blockSize };
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Kernel_EqualsComposedOps_BitForBit(string type, bool doubleQuantization, ScalarType dtype, int blockSize)
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(11);
        // 600 rows x 512: over 256 scales for the nested blocks (decoded by one thread: below the split threshold).
        Tensor w = randn(new long[] { 600, 512 }, generator: g).mul(0.05);
        using QuantizedWeight q = QuantizedWeight.Quantize(w, QuantizationType.FromName(type)!, blockSize, doubleQuantization);
        Tensor composed = q.DequantizeRows(0, q.Rows, dtype, DequantizeMethod.Composed);
        Tensor kernel = q.DequantizeRows(0, q.Rows, dtype, DequantizeMethod.Kernel);
        Assert.Equal(dtype, kernel.dtype);
        Assert.True(composed.bytes.SequenceEqual(kernel.bytes), "whole weight");
        Tensor partC = q.DequantizeRows(37, 101, dtype, DequantizeMethod.Composed);
        Tensor partK = q.DequantizeRows(37, 101, dtype, DequantizeMethod.Kernel);
        Assert.True(partC.bytes.SequenceEqual(partK.bytes), "rows 37..137");
        Assert.True(partK.bytes.SequenceEqual(kernel.narrow(0, 37, 101).contiguous().bytes), "rows are a slice of the whole");
    }

    [Theory]
    [InlineData("nf4", true, ScalarType.Float32, 2)]
    [InlineData("nf4", false, ScalarType.BFloat16, 3)]
    [InlineData("int8", true, ScalarType.Float32, 7)]
    public void Kernel_SplitOverThreads_EqualsOneThreadAndComposedOps(string type, bool doubleQuantization, ScalarType dtype, int parts)
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(12);
        Tensor w = randn(new long[] { 600, 512 }, generator: g).mul(0.05);
        using QuantizedWeight q = QuantizedWeight.Quantize(w, QuantizationType.FromName(type)!, 64, doubleQuantization);
        Tensor composed = q.DequantizeRows(3, 590, dtype, DequantizeMethod.Composed);
        Tensor serial = empty(new long[] { 590, 512 }, dtype);
        Tensor split = empty(new long[] { 590, 512 }, dtype);
        DequantizeKernel.Run(q, 3, 590, serial, minimumBlocks: long.MaxValue);
        int threads = get_num_threads();
        set_num_threads(parts); // KernelThreads splits into libtorch's thread count
        try
        {
            Assert.Equal(FineTuning.Models.Fused.KernelThreads.Available ? parts : 1, FineTuning.Models.Fused.KernelThreads.Parts(590 * 512 / 64, 1));
            DequantizeKernel.Run(q, 3, 590, split, minimumBlocks: 1);
        }
        finally
        {
            set_num_threads(threads);
        }
        Assert.True(serial.bytes.SequenceEqual(composed.bytes), "one thread");
        Assert.True(split.bytes.SequenceEqual(composed.bytes), $"{parts} parts");
    }
}

/// <summary>Each SIMD path of the 4-bit decoder the CPU supports, against the scalar one, on every byte value.</summary>
public sealed unsafe class KernelPathTests
{
    [Fact]
    public void Decode4_EverySupportedPath_EqualsScalar()
    {
        byte[] bytes = new byte[512];
        for (int i = 0; i < bytes.Length; i++) bytes[i] = (byte)((i * 37) + (i / 256));
        float[] table = Codebooks.NF4;
        float[] expected = new float[1024], actual = new float[1024];
        fixed (byte* src = bytes)
        fixed (float* t = table, e = expected, a = actual)
        {
            DequantizeKernel.Decode4Scalar(src, bytes.Length, t, 0.37f, e);
            if (System.Runtime.Intrinsics.X86.Avx2.IsSupported)
            {
                DequantizeKernel.Decode4Avx2(src, bytes.Length, t, 0.37f, a);
                Assert.Equal(expected, actual);
            }
            if (System.Runtime.Intrinsics.X86.Avx512F.IsSupported)
            {
                Array.Clear(actual);
                DequantizeKernel.Decode4Avx512(src, bytes.Length, t, 0.37f, a);
                Assert.Equal(expected, actual);
            }
        }
        Assert.Equal(table[bytes[3] >> 4] * 0.37f, expected[6]);
        Assert.Equal(table[bytes[3] & 15] * 0.37f, expected[7]);
    }
}

using System;
using System.Linq;
using FineTuning.Quantization;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Quantization.Tests;

/// <summary>The formats against their published definitions, and quantize/dequantize error bounds.</summary>
public sealed class FormatTests
{
    [Fact]
    public void NF4_Codebook_EqualsThePublishedSixteenValues()
    {
        // QLoRA paper / bitsandbytes functional.get_4bit_type("nf4").
        double[] published =
        {
            -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635,
            -0.18477343022823334, -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725,
            0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941,
            0.7229568362236023, 1.0,
        };
        Assert.Equal(published.Select(v => (float)v), QuantizationType.NF4.Codebook);
        Assert.Equal(0f, QuantizationType.NF4.Codebook[7]);
    }

    [Fact]
    public void FP4_Codebook_IsBitsandbytesTableOverTwelve()
    {
        double[] raw = { 0, 0.0625, 8, 12, 4, 6, 2, 3, -0.0, -0.0625, -8, -12, -4, -6, -2, -3 };
        Assert.Equal(raw.Select(v => (float)(v / 12)), QuantizationType.FP4.Codebook);
    }

    [Fact]
    public void Dynamic_Map_HasBitsandbytesShape()
    {
        float[] map = Codebooks.Dynamic;
        Assert.Equal(256, map.Length);
        Assert.Equal(1f, map[^1]);
        Assert.Contains(0f, map);
        Assert.True(map.Zip(map.Skip(1)).All(p => p.First < p.Second), "sorted, distinct");
        Assert.Equal(-0.99296875f, map[0], 1e-6f); // 1 - 0.9 / 64 / 2
    }

    [Fact]
    public void Quantize_PacksElementPairsHighNibbleFirst()
    {
        using var scope = NewDisposeScope();
        float[] values = new float[64];
        values[0] = 1f;   // NF4 code 15
        values[1] = -1f;  // NF4 code 0
        values[2] = 0.07958029955625534f; // code 8
        values[3] = 0f;   // code 7
        using QuantizedWeight q = QuantizedWeight.Quantize(tensor(values).view(1, 64), QuantizationType.NF4);
        byte[] packed = q.Packed.data<byte>().ToArray();
        Assert.Equal(32, packed.Length);
        Assert.Equal(0xF0, packed[0]);
        Assert.Equal(0x87, packed[1]);
        Assert.Equal(0x77, packed[2]);
        Assert.Equal(values, q.Dequantize().data<float>().ToArray());
    }

    // Largest half-gap between neighbouring NF4 values: (-0.6961928 - -1) / 2.
    private const double NF4HalfGap = 0.15190360;

    [Property(MaxTest = 20)]
    public Property NF4_NormalData_ErrorWithinHalfGapOfBlockAbsmax(int seed, byte rowsByte)
    {
        using var scope = NewDisposeScope();
        int rows = 1 + (rowsByte % 8);
        using var g = new Generator((ulong)(uint)seed);
        Tensor w = randn(new long[] { rows, 128 }, generator: g);
        using QuantizedWeight q = QuantizedWeight.Quantize(w, QuantizationType.NF4);
        Tensor error = q.Dequantize().sub(w).abs().view(-1, 64);
        Tensor bound = w.abs().view(-1, 64).amax(new long[] { 1 }, keepdim: true).mul(NF4HalfGap * (1 + 1e-5)).add(1e-7);
        bool within = error.le(bound).all().item<bool>();
        double rmse = Math.Sqrt(error.square().mean().item<float>());
        // N(0,1) with 64-value blocks: RMSE measured ~0.095 (docs/quantization.md); 0.13 leaves room for small samples.
        return (within && rmse < 0.13).Label($"within={within} rmse={rmse}");
    }

    [Property(MaxTest = 20)]
    public Property Int8_ErrorAtMostHalfAStepPerBlock(int seed, byte rowsByte)
    {
        using var scope = NewDisposeScope();
        int rows = 1 + (rowsByte % 8);
        using var g = new Generator((ulong)(uint)seed);
        Tensor w = randn(new long[] { rows, 256 }, generator: g).mul(3);
        using QuantizedWeight q = QuantizedWeight.Quantize(w, QuantizationType.Int8, blockSize: 64);
        Tensor error = q.Dequantize().sub(w).abs().view(-1, 64);
        Tensor bound = w.abs().view(-1, 64).amax(new long[] { 1 }, keepdim: true).div(127 * 2).mul(1 + 1e-5).add(1e-7);
        return error.le(bound).all().item<bool>().Label("|x - dq(x)| <= absmax / 127 / 2");
    }

    [Property(MaxTest = 20)]
    public Property Quantize_DequantizeThenRequantize_GivesTheSamePackedBytes(int seed, bool nf4)
    {
        using var scope = NewDisposeScope();
        using var g = new Generator((ulong)(uint)seed);
        Tensor w = randn(new long[] { 4, 128 }, generator: g);
        QuantizationType type = nf4 ? QuantizationType.NF4 : QuantizationType.FP4;
        using QuantizedWeight q = QuantizedWeight.Quantize(w, type);
        using QuantizedWeight again = QuantizedWeight.Quantize(q.Dequantize(), type);
        // FP4 has two zeros (codes 0 and 8, as in bitsandbytes: small negatives get the sign bit); -0 requantizes
        // to code 0, so FP4 round-trips in value, NF4 in bytes.
        bool same = nf4
            ? q.Packed.bytes.SequenceEqual(again.Packed.bytes)
            : q.Dequantize().eq(again.Dequantize()).all().item<bool>();
        return same.Label("packed bytes round-trip");
    }

    [Fact]
    public void DoubleQuantization_ScalesWithinStatedError_AndAbout4127BitsPerParameter()
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(3);
        Tensor w = randn(new long[] { 64, 4096 }, generator: g).mul(0.02);
        using QuantizedWeight plain = QuantizedWeight.Quantize(w, QuantizationType.NF4);
        using QuantizedWeight dq = QuantizedWeight.Quantize(w, QuantizationType.NF4, doubleQuantization: true);
        Tensor exact = plain.BlockScales();
        Tensor approx = dq.BlockScales();
        Tensor centred = exact.sub(exact.mean());
        // Stated bound: half the largest step of the dynamic map (0.9 / 64 / 2 = 0.00703) of each 256-scale block's absmax.
        Tensor blockMax = centred.view(-1, 256).abs().amax(new long[] { 1 }, keepdim: true);
        Tensor error = approx.sub(exact).abs().view(-1, 256);
        Assert.True(error.le(blockMax.mul(0.00704)).all().item<bool>(), $"max scale error {error.max().item<float>()}");
        Assert.InRange(dq.BitsPerParameter, 4.126, 4.128);
        Assert.Equal(4.5, plain.BitsPerParameter, 3);
        Assert.Equal(8.5, QuantizedWeight.Quantize(w, QuantizationType.Int8).BitsPerParameter, 3);
    }

    [Fact]
    public void Measure_ReportsStorageAndError()
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(4);
        Tensor w = randn(new long[] { 32, 128 }, generator: g);
        using QuantizedWeight q = QuantizedWeight.Quantize(w, QuantizationType.NF4);
        QuantizationReport r = q.Measure(w, "layer");
        Assert.Equal((32 * 128 / 2) + (4 * 64), r.StorageBytes);
        Assert.Equal(4.5 / 8, r.BytesPerParameter, 6);
        Assert.InRange(r.Rmse, 0.05, 0.13);
        Assert.True(r.MaxAbsError >= r.Rmse);
    }

    [Theory]
    [InlineData("nf4", 64, 128 * 3)] // 3 rows per chunk: 37 rows in 13 chunks, the last one short
    [InlineData("fp4", 32, 128)]     // one row per chunk
    [InlineData("int8", 64, 1)]      // below one row: still one row per chunk
    public void Quantize_RowChunks_EqualWholeWeightBitForBit(string name, int blockSize, long chunkElements)
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(21);
        Tensor w = randn(new long[] { 37, 128 }, generator: g).mul(0.05).to(ScalarType.BFloat16);
        QuantizationType type = QuantizationType.FromName(name)!;
        (Tensor packedWhole, Tensor absmaxWhole) = BlockQuantizer.Quantize(w, type, blockSize, long.MaxValue);
        (Tensor packed, Tensor absmax) = BlockQuantizer.Quantize(w, type, blockSize, chunkElements);
        Assert.Equal(37 * 128 * type.BitsPerValue / 8, packed.shape[0]);
        Assert.True(packed.bytes.SequenceEqual(packedWhole.bytes), "codes");
        Assert.True(absmax.bytes.SequenceEqual(absmaxWhole.bytes), "scales");
    }

    [Fact]
    public void ZeroBlock_QuantizesToExactZeros()
    {
        using var scope = NewDisposeScope();
        foreach (QuantizationType type in QuantizationType.All)
        {
            using QuantizedWeight q = QuantizedWeight.Quantize(zeros(2, 64), type, doubleQuantization: true);
            Assert.True(q.Dequantize().eq(0).all().item<bool>(), type.Name);
        }
    }

    [Fact]
    public void Quantize_BadWeights_ThrowTypedErrors()
    {
        using var scope = NewDisposeScope();
        var e1 = Assert.Throws<QuantizationException>(() => QuantizedWeight.Quantize(randn(4, 100), QuantizationType.NF4));
        Assert.Contains("not a multiple of the block size 64", e1.Message, StringComparison.Ordinal);
        var e2 = Assert.Throws<QuantizationException>(() => QuantizedWeight.Quantize(randn(2, 4, 64), QuantizationType.NF4));
        Assert.Contains("2-D", e2.Message, StringComparison.Ordinal);
        var e3 = Assert.Throws<QuantizationException>(() => QuantizedWeight.Quantize(ones(4, 64, ScalarType.Int32), QuantizationType.NF4));
        Assert.Contains("floating-point", e3.Message, StringComparison.Ordinal);
        Assert.Throws<QuantizationException>(() => QuantizedWeight.Quantize(randn(4, 96), QuantizationType.NF4, blockSize: 48));
    }
}

using System;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Quantization;

/// <summary>
/// A block-quantized [out, in] weight matrix: packed codes, one absmax scale per block (or, with double
/// quantization, 8-bit codes of the scales plus one float32 absmax per 256 scales and their mean), the format and
/// the block size. Immutable; owns its tensors (dispose it). Dequantize whole or by rows.
/// </summary>
public sealed class QuantizedWeight : IDisposable
{
    internal QuantizedWeight(QuantizationType type, int blockSize, long rows, long columns, ScalarType sourceDType,
        Tensor packed, Tensor? absmax, ScaleCodes? scaleCodes)
    {
        Type = type;
        BlockSize = blockSize;
        Rows = rows;
        Columns = columns;
        SourceDType = sourceDType;
        Packed = packed.DetachFromDisposeScope();
        Absmax = absmax?.DetachFromDisposeScope();
        Scales = scaleCodes;
        scaleCodes?.Detach();
    }

    /// <summary>The format.</summary>
    public QuantizationType Type { get; }

    /// <summary>Values per block (each block has one scale).</summary>
    public int BlockSize { get; }

    /// <summary>Output features (rows of the weight).</summary>
    public long Rows { get; }

    /// <summary>Input features (columns of the weight).</summary>
    public long Columns { get; }

    /// <summary>The dtype of the weight that was quantized (recorded in saved files, as bitsandbytes does).</summary>
    public ScalarType SourceDType { get; }

    /// <summary>True when the block scales are themselves quantized (double quantization).</summary>
    public bool IsDoubleQuantized => Scales is not null;

    /// <summary>Parameters: Rows x Columns.</summary>
    public long ParameterCount => Rows * Columns;

    /// <summary>Number of blocks (and scales).</summary>
    public long BlockCount => ParameterCount / BlockSize;

    /// <summary>Bytes of codes plus scales (the 16/256-entry value tables, shared by every layer of a format, are not counted).</summary>
    public long StorageBytes => Packed.NumberOfElements + (Scales is null ? 4 * BlockCount : Scales.StorageBytes);

    /// <summary>Storage per parameter in bits: 4.5 for NF4/FP4 with 64-value blocks, about 4.127 with double quantization.</summary>
    public double BitsPerParameter => 8.0 * StorageBytes / ParameterCount;

    internal Tensor Packed { get; }

    internal Tensor? Absmax { get; }

    internal ScaleCodes? Scales { get; }

    /// <summary>
    /// Quantizes <paramref name="weight"/> ([out, in], floating-point, in divisible by <paramref name="blockSize"/>).
    /// The weight is read, never changed.
    /// </summary>
    /// <exception cref="QuantizationException">The weight is not 2-D, not floating-point, or in is not a multiple of the block size.</exception>
    public static QuantizedWeight Quantize(Tensor weight, QuantizationType type, int blockSize = 64, bool doubleQuantization = false)
    {
        ArgumentNullException.ThrowIfNull(type);
        BlockQuantizer.CheckWeight(weight, blockSize, "The weight");
        (Tensor packed, Tensor absmax) = BlockQuantizer.Quantize(weight, type, blockSize);
        if (!doubleQuantization) return new QuantizedWeight(type, blockSize, weight.shape[0], weight.shape[1], weight.dtype, packed, absmax, null);
        using (absmax)
        {
            (Tensor codes, Tensor nested, float offset) = BlockQuantizer.QuantizeScales(absmax);
            var scales = new ScaleCodes(codes, nested, offset, Codebooks.Dynamic, BlockQuantizer.NestedBlockSize);
            return new QuantizedWeight(type, blockSize, weight.shape[0], weight.shape[1], weight.dtype, packed, null, scales);
        }
    }

    /// <summary>The whole weight, dequantized into a new [out, in] tensor of <paramref name="dtype"/> (the caller disposes it).</summary>
    public Tensor Dequantize(ScalarType dtype = ScalarType.Float32) => DequantizeRows(0, Rows, dtype);

    /// <summary>Rows [<paramref name="start"/>, start + <paramref name="count"/>) dequantized into a new [count, in] tensor.</summary>
    public Tensor DequantizeRows(long start, long count, ScalarType dtype = ScalarType.Float32) =>
        DequantizeRows(start, count, dtype, DequantizeMethod.Kernel);

    internal Tensor DequantizeRows(long start, long count, ScalarType dtype, DequantizeMethod method)
    {
        CheckRows(start, count, dtype);
        if (method == DequantizeMethod.Kernel && DequantizeKernel.Supports(this, dtype))
        {
            Tensor output = empty(new[] { count, Columns }, dtype);
            DequantizeKernel.Run(this, start, count, output);
            return output;
        }
        return DequantizeComposed.Run(this, start, count, dtype);
    }

    /// <summary>
    /// Rows [<paramref name="start"/>, start + <paramref name="count"/>) dequantized into <paramref name="output"/>, a
    /// contiguous [count, in] tensor of a floating-point dtype on the weight's device (no new tensor when the kernel
    /// supports the dtype).
    /// </summary>
    internal void DequantizeRowsInto(long start, long count, Tensor output, DequantizeMethod method)
    {
        if (method == DequantizeMethod.Kernel && DequantizeKernel.Supports(this, output.dtype) && output.is_contiguous())
        {
            CheckRows(start, count, output.dtype);
            DequantizeKernel.Run(this, start, count, output);
            return;
        }

        using Tensor rows = DequantizeRows(start, count, output.dtype, method);
        output.copy_(rows);
    }

    private void CheckRows(long start, long count, ScalarType dtype)
    {
        ObjectDisposedException.ThrowIf(Packed.IsInvalid, this);
        if (start < 0 || count < 0 || start + count > Rows)
            throw new ArgumentOutOfRangeException(nameof(start), $"Rows [{start}, {start + count}) are outside [0, {Rows}).");
        if (!is_floating_point(dtype)) throw new QuantizationException($"Weights dequantize to a floating-point dtype, not {dtype}.");
    }

    /// <summary>Storage and error of this quantization of <paramref name="original"/> (the weight it was made from).</summary>
    public QuantizationReport Measure(Tensor original, string layerName = "")
    {
        ArgumentNullException.ThrowIfNull(original);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        Tensor reference = original.detach().cpu().to(ScalarType.Float32);
        if (!reference.shape.AsSpan().SequenceEqual(new[] { Rows, Columns }))
            throw new QuantizationException($"The original weight is [{string.Join(", ", original.shape)}] but the quantized one is [{Rows}, {Columns}].");
        // By blocks of rows (about 2^20 values), so measuring a 125 MiB embedding or head adds a few MiB, not three
        // weight-sized temporaries.
        double sumSquares = 0, maxAbs = 0;
        long rowsPerChunk = Math.Max(1, (1L << 20) / Columns);
        for (long start = 0; start < Rows; start += rowsPerChunk)
        {
            using var chunkScope = NewDisposeScope();
            long count = Math.Min(rowsPerChunk, Rows - start);
            Tensor error = DequantizeRows(start, count, ScalarType.Float32).sub_(reference.narrow(0, start, count));
            sumSquares += error.square().sum(ScalarType.Float64).item<double>();
            maxAbs = Math.Max(maxAbs, error.abs().max().item<float>());
        }

        double rmse = Math.Sqrt(sumSquares / ParameterCount);
        return new QuantizationReport(layerName, Type, BlockSize, IsDoubleQuantized, Rows, Columns, StorageBytes, BitsPerParameter, rmse, maxAbs);
    }

    /// <summary>The block scales as float32 (dequantized when double-quantized), [BlockCount].</summary>
    public Tensor BlockScales()
    {
        if (Scales is null) return Absmax!.clone();
        return DequantizeComposed.Scales(this, 0, BlockCount);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Packed.Dispose();
        Absmax?.Dispose();
        Scales?.Dispose();
    }
}

using System;
using FineTuning.Adapters;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuning.Quantization;

/// <summary>
/// A frozen token embedding whose [rows, dim] table is block-quantized (bitsandbytes' <c>Embedding4bit</c>; llama.cpp
/// files quantize <c>token_embd</c> the same way). The lookup dequantizes only the rows it returns, straight from the
/// codes, so the table is never held dense: at NF4 with blocks of 64 it takes 4.5 bits per value instead of 32. The
/// output is in <see cref="QuantizedModule.ComputeDType"/> (it follows <c>module.to(dtype)</c>) and never requires a gradient.
/// Quantize one by naming it in <see cref="QuantizationOptions.Targets"/> (<c>embed_tokens</c>); see docs/quantization.md.
/// </summary>
public sealed class QuantizedEmbedding : QuantizedModule, IFrozenEmbedding
{
    /// <summary>Takes ownership of <paramref name="weight"/> ([rows, dim]: one row per token).</summary>
    /// <exception cref="QuantizationException">The compute dtype is not floating-point.</exception>
    public QuantizedEmbedding(QuantizedWeight weight, ScalarType computeDType)
        : base(nameof(QuantizedEmbedding), weight, computeDType)
    {
        RegisterComponents();
    }

    /// <summary>Quantizes <paramref name="embedding"/>'s table (left unchanged; dispose it if no longer needed).</summary>
    /// <exception cref="QuantizationException">The table is not floating-point, or its dimension is not a multiple of the block size.</exception>
    public static QuantizedEmbedding FromEmbedding(Embedding embedding, QuantizationType type, int blockSize = 64, bool doubleQuantization = false,
        ScalarType? computeDType = null)
    {
        ArgumentNullException.ThrowIfNull(embedding);
        ArgumentNullException.ThrowIfNull(type);
        Tensor w = embedding.weight!;
        BlockQuantizer.CheckWeight(w, blockSize, "The embedding's table");
        QuantizedWeight q = QuantizedWeight.Quantize(w, type, blockSize, doubleQuantization);
        return new QuantizedEmbedding(q, computeDType ?? w.dtype);
    }

    /// <inheritdoc />
    public long NumEmbeddings => Weight.Rows;

    /// <inheritdoc />
    public long EmbeddingDim => Weight.Columns;

    /// <inheritdoc />
    public Tensor DenseWeight(ScalarType dtype) => Weight.Dequantize(dtype);

    /// <inheritdoc />
    /// <exception cref="ArgumentOutOfRangeException">The rows are not a non-empty range of the table.</exception>
    /// <exception cref="QuantizationException"><paramref name="dtype"/> is not a floating-point dtype.</exception>
    public Tensor DenseWeightRows(long start, long count, ScalarType dtype)
    {
        CheckRows(start, count, dtype);
        Tensor rows = empty(new[] { count, EmbeddingDim }, dtype, Weight.Packed.device);
        Weight.DequantizeRowsInto(start, count, rows, DequantizeMethod.Kernel);
        return rows;
    }

    /// <summary>The rows of <paramref name="input"/>'s token ids: [..., dim] for ids of any shape.</summary>
    /// <exception cref="QuantizationException">The ids are not integers, or one is outside [0, NumEmbeddings).</exception>
    public override Tensor forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.dtype is not (ScalarType.Int64 or ScalarType.Int32 or ScalarType.Int16 or ScalarType.Int8 or ScalarType.Byte))
            throw new QuantizationException($"Token ids must be integers; the input is {input.dtype}.");
        long[] ids;
        using (Tensor flat = input.reshape(-1).to(ScalarType.Int64).cpu()) ids = flat.data<long>().ToArray();
        for (int i = 0; i < ids.Length; i++)
        {
            if (ids[i] < 0 || ids[i] >= NumEmbeddings)
                throw new QuantizationException($"Token id {ids[i]} (at flat position {i}) is outside the embedding's {NumEmbeddings} rows.");
        }

        long[] shape = new long[input.dim() + 1];
        input.shape.CopyTo(shape, 0);
        shape[^1] = EmbeddingDim;
        ObjectDisposedException.ThrowIf(Weight.Packed.IsInvalid, this);
        Device device = Weight.Packed.device;
        ScalarType kernelDType = ComputeDType == ScalarType.BFloat16 ? ScalarType.BFloat16 : ScalarType.Float32;
        if (DequantizeKernel.Supports(Weight, kernelDType))
        {
            using Tensor rows = empty(new[] { ids.LongLength, EmbeddingDim }, kernelDType, device);
            DequantizeKernel.Gather(Weight, ids, rows);
            if (kernelDType == ComputeDType) return rows.view(shape);
            using Tensor converted = rows.to(ComputeDType);
            return converted.view(shape);
        }

        // Off the CPU kernel's path (another device): the whole table dense for one lookup, then freed.
        using Tensor table = Weight.Dequantize(ComputeDType);
        using Tensor index = tensor(ids, device: device);
        using Tensor selected = table.index_select(0, index);
        return selected.view(shape);
    }
}

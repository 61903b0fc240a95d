using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Adapters;

/// <summary>
/// A frozen token embedding (a lookup <c>ids -> rows of W</c>) whose weight may be stored in another form, for example
/// 4-bit quantized blocks (FineTuning.Quantization's <c>QuantizedEmbedding</c>, bitsandbytes' <c>Embedding4bit</c>).
/// Implementations are <c>Module&lt;Tensor, Tensor&gt;</c>s whose output never requires a gradient. Core reads it to
/// find the model's input embedding, to dequantize it (<see cref="QuantizedLayers.Dequantize"/>) and to export it.
/// </summary>
public interface IFrozenEmbedding
{
    /// <summary>Rows (the vocabulary size).</summary>
    long NumEmbeddings { get; }

    /// <summary>Values per row (the hidden size).</summary>
    long EmbeddingDim { get; }

    /// <summary>The weight as a new dense [rows, dim] tensor of <paramref name="dtype"/> (the caller disposes it).</summary>
    Tensor DenseWeight(ScalarType dtype);

    /// <summary>
    /// Rows [<paramref name="start"/>, start + <paramref name="count"/>) of the table as a new dense [count, dim]
    /// tensor of <paramref name="dtype"/> (the caller disposes it), for reading a large table by blocks without
    /// holding it dense. The default copies those rows of <see cref="DenseWeight"/>.
    /// </summary>
    /// <param name="start">The first row.</param>
    /// <param name="count">How many rows.</param>
    /// <param name="dtype">The floating dtype to return.</param>
    /// <returns>The rows, owned by the caller.</returns>
    Tensor DenseWeightRows(long start, long count, ScalarType dtype)
    {
        using Tensor all = DenseWeight(dtype);
        using Tensor rows = all.narrow(0, start, count);
        return rows.clone();
    }
}

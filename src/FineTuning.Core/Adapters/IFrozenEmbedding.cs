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
}

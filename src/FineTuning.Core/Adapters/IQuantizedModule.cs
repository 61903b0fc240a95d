using System.Text.Json.Nodes;

namespace FineTuning.Adapters;

/// <summary>
/// A frozen module whose weight is stored quantized (a linear layer, <see cref="IQuantizedLinear"/>, or a token embedding,
/// <see cref="IFrozenEmbedding"/>), and which can say how: files saved over it (a LoRA adapter trained on a quantized base,
/// QLoRA) record its settings so that a reload can rebuild the same base and reproduce the same outputs.
/// FineTuning.Quantization implements it; FineTuning.Lora reads it when saving and loading adapters, without either
/// package referencing the other.
/// </summary>
public interface IQuantizedModule
{
    /// <summary>
    /// The module's storage as a transformers-style <c>quantization_config</c> object (for 4-bit bitsandbytes formats the
    /// keys of <c>BitsAndBytesConfig</c>: <c>quant_method</c>, <c>bnb_4bit_quant_type</c>, ...). A new object each call.
    /// </summary>
    JsonObject QuantizationConfig();

    /// <summary>
    /// Null when this module's weight is stored as <paramref name="config"/> (an object from <see cref="QuantizationConfig"/>,
    /// possibly of another module or read from a file) describes; otherwise the difference, one sentence. The compute dtype
    /// does not count: it changes with <c>module.to(dtype)</c> and leaves the stored weight alone.
    /// </summary>
    string? Mismatch(JsonObject config);
}

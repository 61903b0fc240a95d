namespace FineTuning.Adapters;

/// <summary>
/// A frozen linear layer whose weight is stored quantized, and which can say how (<see cref="IQuantizedModule"/>).
/// FineTuning.Quantization's <c>QuantizedLinear</c> implements it; FineTuning.Lora wraps it (QLoRA) and records its
/// settings when saving and loading adapters, without either package referencing the other.
/// </summary>
public interface IQuantizedLinear : IFrozenLinear, IQuantizedModule
{
}

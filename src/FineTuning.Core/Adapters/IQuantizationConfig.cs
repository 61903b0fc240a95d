namespace FineTuning.Adapters;

/// <summary>
/// How a model's base layers are quantized (transformers' <c>quantization_config</c>): a recipe that creates the
/// <see cref="IModelAdapter"/> replacing targeted linear layers by frozen <see cref="IFrozenLinear"/> layers. It is the
/// contract that lets FineTuning.Lora's <c>WithQLoRA</c> put a quantized base under its adapters without referencing
/// FineTuning.Quantization, whose <c>QuantizationOptions</c> implements it.
/// </summary>
public interface IQuantizationConfig
{
    /// <summary>A new adapter that quantizes the targeted layers when the run starts (settings copied: later changes to this config do not affect it).</summary>
    IModelAdapter CreateAdapter();
}

using static TorchSharp.torch;

namespace FineTuning.Adapters;

/// <summary>
/// A frozen (quantized) linear layer that can store another dense weight with its own settings. FineTuning.Lora's LoftQ
/// initialisation alternates it with a low-rank fit (quantize W - s B A, fit B A to W - Q) without referencing
/// FineTuning.Quantization, whose <c>QuantizedLinear</c> implements it.
/// </summary>
public interface IRequantizableLinear : IFrozenLinear
{
    /// <summary>Replaces the stored weight by <paramref name="weight"/> ([out, in], any floating dtype) quantized as the current one is.</summary>
    void Requantize(Tensor weight);
}

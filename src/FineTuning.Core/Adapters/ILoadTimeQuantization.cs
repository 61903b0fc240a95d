using System.Collections.Generic;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Adapters;

/// <summary>
/// Quantization settings that a loader can apply layer by layer while it reads a checkpoint (transformers'
/// <c>from_pretrained(..., quantization_config=...)</c>, bitsandbytes' <c>load_in_4bit</c>), so that the dense model never
/// exists whole: each layer is read, quantized and its dense weight freed before the next one is read.
/// FineTuning.Quantization's <c>QuantizationOptions</c> implements it; Core's <c>HfCheckpoint.Load</c> takes it.
/// </summary>
public interface ILoadTimeQuantization : IQuantizationConfig
{
    /// <summary>
    /// Problems quantizing <paramref name="model"/> with these settings would meet (empty when none). Called once before
    /// any weight is read, on a model whose tensors have their shapes and dtypes but no storage (the meta device).
    /// </summary>
    IEnumerable<string> Validate(nn.Module model);

    /// <summary>
    /// The quantized module that replaces <paramref name="module"/> (a layer of <paramref name="model"/> named
    /// <paramref name="name"/>, its weights just read), or null when these settings keep it as it is. The caller disposes
    /// <paramref name="module"/> after a replacement.
    /// </summary>
    nn.Module? Quantize(string name, nn.Module module, nn.Module model);
}

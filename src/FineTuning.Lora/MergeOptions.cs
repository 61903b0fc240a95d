namespace FineTuning.Lora;

/// <summary>How <see cref="LoRA.MergeAndUnload(TorchSharp.torch.nn.Module, MergeOptions?)"/> folds adapters into the model.</summary>
public sealed class MergeOptions
{
    /// <summary>
    /// Refuse a merge that would make a weight NaN or infinite (PEFT's <c>safe_merge</c>). Default true.
    /// </summary>
    public bool SafeMerge { get; set; } = true;

    /// <summary>
    /// Allow merging into a quantized base (QLoRA): the base weight is dequantized, the adapter is added in fp32, and the
    /// layer becomes a dense <c>Linear</c> in the adapter's dtype. The merged model is then larger (dense instead of
    /// 4/8-bit) and its weights are <c>dequantize(W_q) + scaling·B·A</c>: it computes what the quantized model with the
    /// adapter computed, so the quantization error of the base stays in it (it is not the original full-precision
    /// model plus the adapter). Default false: such a merge is refused, because it silently changes the model's size
    /// and precision.
    /// </summary>
    public bool DequantizeQuantizedBase { get; set; }
}

using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Adapters;

/// <summary>
/// A frozen linear map <c>y = x W^T + b</c> whose weight may be stored in another form (for example 4-bit
/// quantized blocks). It is the contract between add-on packages that must cooperate without referencing each
/// other: FineTuning.Quantization implements it, FineTuning.Lora wraps any module that implements it (QLoRA).
/// Implementations are <c>Module&lt;Tensor, Tensor&gt;</c>s whose parameters never require gradients; their
/// backward must still give the input gradient.
/// </summary>
public interface IFrozenLinear
{
    /// <summary>Input features.</summary>
    long InFeatures { get; }

    /// <summary>Output features.</summary>
    long OutFeatures { get; }

    /// <summary>The weight as a new dense [out, in] tensor of <paramref name="dtype"/> (the caller disposes it).</summary>
    Tensor DenseWeight(ScalarType dtype);

    /// <summary>
    /// The bias as a new [out] tensor of <paramref name="dtype"/> (the caller disposes it), or null when the layer has
    /// none. Used to replace the layer by a dense <c>Linear</c> (LoRA's merge-and-unload over a quantized base).
    /// </summary>
    Tensor? DenseBias(ScalarType dtype) => null;

    /// <summary>
    /// Rows [<paramref name="start"/>, start + <paramref name="count"/>) of the weight as a dense [count, in] tensor of
    /// <paramref name="dtype"/>, for products done in blocks of output rows (the chunked loss over a frozen output head
    /// never holds the whole head dense). The caller disposes the returned tensor, but it may be a view of a buffer the
    /// layer reuses: use it before the next call on the same thread. The default copies those rows of <see cref="DenseWeight"/>.
    /// </summary>
    Tensor DenseWeightRows(long start, long count, ScalarType dtype)
    {
        using Tensor all = DenseWeight(dtype);
        using Tensor rows = all.narrow(0, start, count);
        return rows.clone();
    }

    /// <summary>
    /// True when the tensor returned by the layer's forward is a new tensor that is neither a view nor saved by its
    /// own backward, so a caller may add into it in place (LoRA accumulates its update there instead of allocating a
    /// second output-sized tensor). Default false, which is always safe.
    /// </summary>
    bool OutputWritableInPlace => false;
}

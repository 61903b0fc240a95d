using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Adapters;

/// <summary>
/// A module an adapter puts in place of a token embedding (e.g. LoRA's trainable tokens, PEFT's
/// <c>TrainableTokensWrapper</c>). A model whose output head is tied to its input embedding reads the head's weight
/// through <see cref="EffectiveWeight"/>, so the head sees the same adapted rows as the embedding.
/// </summary>
public interface IEmbeddingWrapper
{
    /// <summary>The wrapped embedding (or, for an output head, linear layer).</summary>
    nn.Module BaseLayer { get; }

    /// <summary>The weight [vocab, dim] the wrapper uses in its forward pass, with gradients flowing to the adapter's parameters.</summary>
    /// <returns>A tensor owned by the caller's dispose scope.</returns>
    Tensor EffectiveWeight();
}

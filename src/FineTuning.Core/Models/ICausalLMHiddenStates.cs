using static TorchSharp.torch;

namespace FineTuning.Models;

/// <summary>
/// A causal LM that can stop before its output head, so that the loss computes the head and the cross-entropy
/// chunk by chunk (<see cref="LinearCrossEntropy"/>) instead of materialising logits [tokens, vocab].
/// </summary>
internal interface ICausalLMHiddenStates
{
    /// <summary>The final normalised hidden states [batch, seq, hidden]; arguments as <c>ICausalLanguageModel.Forward</c> without a cache.</summary>
    Tensor ForwardHiddenStates(Tensor inputIds, Tensor? attentionMask, Tensor? positionIds);

    /// <summary>The output head's weight [vocab, hidden] when the head is a bias-free linear map (plain or tied), else null.</summary>
    Tensor? OutputWeight();
}

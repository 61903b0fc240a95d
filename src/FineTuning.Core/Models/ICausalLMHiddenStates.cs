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

    /// <summary>
    /// The output head when it is a bias-free linear map: its dense weight [vocab, hidden] (plain or tied), or a frozen
    /// layer stored in another form (a quantized <c>lm_head</c>); null otherwise (an adapter wraps the head, or it has a
    /// bias): the objective then computes the full logits through the model's forward.
    /// </summary>
    OutputHead? OutputHead();
}

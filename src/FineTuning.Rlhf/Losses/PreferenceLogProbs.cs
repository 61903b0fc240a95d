using static TorchSharp.torch;

namespace FineTuning.Rlhf.Losses;

/// <summary>
/// What a preference loss sees for a batch of B pairs: per-sequence log-probabilities of the completions (summed over
/// their tokens) under the policy and, when the loss needs one, the reference policy, and the completions' lengths.
/// All tensors are [B]; the policy ones carry gradients.
/// </summary>
/// <param name="PolicyChosen">log pi(chosen | prompt), summed over tokens.</param>
/// <param name="PolicyRejected">log pi(rejected | prompt), summed over tokens.</param>
/// <param name="ReferenceChosen">log pi_ref(chosen | prompt), or null when the loss needs no reference.</param>
/// <param name="ReferenceRejected">log pi_ref(rejected | prompt), or null.</param>
/// <param name="ChosenLength">Tokens in each chosen completion (float).</param>
/// <param name="RejectedLength">Tokens in each rejected completion (float).</param>
public sealed record PreferenceLogProbs(
    Tensor PolicyChosen,
    Tensor PolicyRejected,
    Tensor? ReferenceChosen,
    Tensor? ReferenceRejected,
    Tensor ChosenLength,
    Tensor RejectedLength);

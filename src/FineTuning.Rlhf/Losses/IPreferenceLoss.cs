using static TorchSharp.torch;

namespace FineTuning.Rlhf.Losses;

/// <summary>
/// A preference loss: a small stateless strategy chosen by instance (<c>new DpoLoss(beta: 0.1)</c>). It maps per-sequence
/// log-probabilities to one loss per pair; the trainer sums them and divides by the number of pairs in the step.
/// </summary>
public interface IPreferenceLoss
{
    /// <summary>True when the loss compares against a reference policy (DPO, IPO); false for ORPO and SimPO.</summary>
    bool NeedsReference { get; }

    /// <summary>Loss per pair, [B].</summary>
    Tensor Loss(PreferenceLogProbs logProbs);

    /// <summary>The implicit reward of each completion, [B] each, for metrics (detached by the caller).</summary>
    (Tensor Chosen, Tensor Rejected) Rewards(PreferenceLogProbs logProbs);
}

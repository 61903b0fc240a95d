using System;
using static TorchSharp.torch;

namespace FineTuning.Rlhf.Losses;

/// <summary>
/// Identity Preference Optimization (Azar et al. 2023, arXiv:2310.12036): <c>loss = (m - 1 / (2 beta))^2</c> with
/// <c>m = (pi_c - pi_r) - (ref_c - ref_r)</c> computed on log-probabilities averaged per token (as TRL does for
/// <c>loss_type="ipo"</c>). Minimised exactly when the margin is <c>1 / (2 beta)</c>, so it cannot overfit the
/// preference to infinity.
/// </summary>
public sealed record IpoLoss : IPreferenceLoss
{
    /// <summary>Creates the loss.</summary>
    /// <param name="beta">Regularisation; the target margin is 1 / (2 beta). Default 0.1.</param>
    public IpoLoss(double beta = 0.1)
    {
        Beta = beta;
    }

    /// <summary>Regularisation; the target margin is 1 / (2 beta). Default 0.1.</summary>
    public double Beta { get; init; }

    /// <inheritdoc />
    public bool NeedsReference => true;

    /// <inheritdoc />
    public Tensor Loss(PreferenceLogProbs logProbs)
    {
        ArgumentNullException.ThrowIfNull(logProbs);
        if (!(Beta > 0)) throw new ArgumentOutOfRangeException(nameof(Beta), Beta, "beta must be positive.");
        using var scope = NewDisposeScope();
        Tensor m = Margin(logProbs);
        return m.sub(1.0 / (2 * Beta)).square().MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public (Tensor Chosen, Tensor Rejected) Rewards(PreferenceLogProbs logProbs)
    {
        ArgumentNullException.ThrowIfNull(logProbs);
        return (Average(logProbs.PolicyChosen, logProbs.ChosenLength).sub(Average(DpoLoss.Ref(logProbs.ReferenceChosen), logProbs.ChosenLength)).mul(Beta),
                Average(logProbs.PolicyRejected, logProbs.RejectedLength).sub(Average(DpoLoss.Ref(logProbs.ReferenceRejected), logProbs.RejectedLength)).mul(Beta));
    }

    private static Tensor Margin(PreferenceLogProbs p) =>
        Average(p.PolicyChosen, p.ChosenLength).sub(Average(p.PolicyRejected, p.RejectedLength))
            .sub(Average(DpoLoss.Ref(p.ReferenceChosen), p.ChosenLength).sub(Average(DpoLoss.Ref(p.ReferenceRejected), p.RejectedLength)));

    private static Tensor Average(Tensor sum, Tensor length) => sum.div(length);
}

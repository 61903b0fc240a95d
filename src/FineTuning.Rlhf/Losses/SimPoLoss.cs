using System;
using static TorchSharp.torch;

namespace FineTuning.Rlhf.Losses;

/// <summary>
/// Simple Preference Optimization (Meng et al. 2024, arXiv:2405.14734), no reference model, length-normalised:
/// <c>loss = -log sigma(beta * a_c - beta * a_r - gamma)</c> with average per-token log-probabilities <c>a</c>.
/// Rewards are <c>beta * a</c>.
/// </summary>
public sealed record SimPoLoss : IPreferenceLoss
{
    /// <summary>Creates the loss.</summary>
    /// <param name="beta">Reward scale. Default 2.0 (the paper's range is 2.0 to 2.5).</param>
    /// <param name="gamma">Target reward margin. Default 0.5.</param>
    public SimPoLoss(double beta = 2.0, double gamma = 0.5)
    {
        Beta = beta;
        Gamma = gamma;
    }

    /// <summary>Reward scale. Default 2.0 (the paper's range is 2.0 to 2.5).</summary>
    public double Beta { get; init; }

    /// <summary>Target reward margin. Default 0.5.</summary>
    public double Gamma { get; init; }

    /// <inheritdoc />
    public bool NeedsReference => false;

    /// <inheritdoc />
    public Tensor Loss(PreferenceLogProbs logProbs)
    {
        ArgumentNullException.ThrowIfNull(logProbs);
        if (!(Beta > 0)) throw new ArgumentOutOfRangeException(nameof(Beta), Beta, "beta must be positive.");
        using var scope = NewDisposeScope();
        (Tensor rc, Tensor rr) = Rewards(logProbs);
        return nn.functional.logsigmoid(rc.sub(rr).sub(Gamma)).neg().MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public (Tensor Chosen, Tensor Rejected) Rewards(PreferenceLogProbs logProbs)
    {
        ArgumentNullException.ThrowIfNull(logProbs);
        return (logProbs.PolicyChosen.div(logProbs.ChosenLength).mul(Beta), logProbs.PolicyRejected.div(logProbs.RejectedLength).mul(Beta));
    }
}

using System;
using static TorchSharp.torch;

namespace FineTuning.Rlhf.Losses;

/// <summary>
/// Odds Ratio Preference Optimization (Hong et al. 2024, arXiv:2403.07691), no reference model: with average per-token
/// log-probabilities <c>a</c> and <c>log odds(a) = a - log(1 - exp(a))</c>,
/// <c>loss = -a_chosen - lambda * log sigma(log odds(a_c) - log odds(a_r))</c>: the SFT term on the chosen completion
/// plus the odds-ratio term. Rewards are <c>lambda * a</c> (as TRL reports them).
/// </summary>
public sealed record OrpoLoss : IPreferenceLoss
{
    /// <summary>Creates the loss.</summary>
    /// <param name="lambda">Weight of the odds-ratio term (TRL calls it beta). Default 0.1.</param>
    public OrpoLoss(double lambda = 0.1)
    {
        Lambda = lambda;
    }

    /// <summary>Weight of the odds-ratio term (TRL calls it beta). Default 0.1.</summary>
    public double Lambda { get; init; }

    /// <inheritdoc />
    public bool NeedsReference => false;

    /// <inheritdoc />
    public Tensor Loss(PreferenceLogProbs logProbs)
    {
        ArgumentNullException.ThrowIfNull(logProbs);
        if (!(Lambda > 0)) throw new ArgumentOutOfRangeException(nameof(Lambda), Lambda, "lambda must be positive.");
        using var scope = NewDisposeScope();
        Tensor ac = logProbs.PolicyChosen.div(logProbs.ChosenLength);
        Tensor ar = logProbs.PolicyRejected.div(logProbs.RejectedLength);
        Tensor logOddsRatio = LogOdds(ac).sub(LogOdds(ar));
        Tensor loss = ac.neg().sub(nn.functional.logsigmoid(logOddsRatio).mul(Lambda));
        return loss.MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public (Tensor Chosen, Tensor Rejected) Rewards(PreferenceLogProbs logProbs)
    {
        ArgumentNullException.ThrowIfNull(logProbs);
        return (logProbs.PolicyChosen.div(logProbs.ChosenLength).mul(Lambda), logProbs.PolicyRejected.div(logProbs.RejectedLength).mul(Lambda));
    }

    /// <summary>log(p / (1 - p)) for p = exp(a), computed stably as a - log1p(-exp(a)).</summary>
    private static Tensor LogOdds(Tensor averageLogProb) => averageLogProb.sub(averageLogProb.exp().neg().log1p());
}

using System;
using static TorchSharp.torch;

namespace FineTuning.Rlhf.Losses;

/// <summary>
/// Direct Preference Optimization (Rafailov et al. 2023, arXiv:2305.18290), sigmoid form, with label smoothing
/// (conservative DPO, Mitchell 2023): with <c>h = beta * ((pi_c - pi_r) - (ref_c - ref_r))</c>,
/// <c>loss = -(1 - eps) log sigma(h) - eps log sigma(-h)</c>. Rewards are <c>beta * (pi - ref)</c>. Same as TRL's
/// <c>loss_type="sigmoid"</c>.
/// </summary>
public sealed record DpoLoss : IPreferenceLoss
{
    /// <summary>Creates the loss.</summary>
    /// <param name="beta">Strength of the KL constraint to the reference. Default 0.1 (TRL's default).</param>
    /// <param name="labelSmoothing">Assumed probability that a label is flipped, in [0, 0.5). Default 0.</param>
    public DpoLoss(double beta = 0.1, double labelSmoothing = 0.0)
    {
        Beta = beta;
        LabelSmoothing = labelSmoothing;
    }

    /// <summary>Strength of the KL constraint to the reference. Default 0.1 (TRL's default).</summary>
    public double Beta { get; init; }

    /// <summary>Assumed probability that a label is flipped, in [0, 0.5). Default 0.</summary>
    public double LabelSmoothing { get; init; }

    /// <inheritdoc />
    public bool NeedsReference => true;

    /// <inheritdoc />
    public Tensor Loss(PreferenceLogProbs logProbs)
    {
        ArgumentNullException.ThrowIfNull(logProbs);
        Check();
        using var scope = NewDisposeScope();
        Tensor h = Margin(logProbs).mul(Beta);
        Tensor loss = nn.functional.logsigmoid(h).mul(-(1 - LabelSmoothing)).sub(nn.functional.logsigmoid(h.neg()).mul(LabelSmoothing));
        return loss.MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public (Tensor Chosen, Tensor Rejected) Rewards(PreferenceLogProbs logProbs)
    {
        ArgumentNullException.ThrowIfNull(logProbs);
        return (logProbs.PolicyChosen.sub(Ref(logProbs.ReferenceChosen)).mul(Beta), logProbs.PolicyRejected.sub(Ref(logProbs.ReferenceRejected)).mul(Beta));
    }

    internal static Tensor Margin(PreferenceLogProbs p) =>
        p.PolicyChosen.sub(p.PolicyRejected).sub(Ref(p.ReferenceChosen).sub(Ref(p.ReferenceRejected)));

    internal static Tensor Ref(Tensor? t) => t ?? throw new ArgumentException("This loss needs the reference policy's log-probabilities.");

    private void Check()
    {
        if (!(Beta > 0)) throw new ArgumentOutOfRangeException(nameof(Beta), Beta, "beta must be positive.");
        if (!(LabelSmoothing >= 0 && LabelSmoothing < 0.5)) throw new ArgumentOutOfRangeException(nameof(LabelSmoothing), LabelSmoothing, "label smoothing must be in [0, 0.5).");
    }
}

using System;
using static TorchSharp.torch;

namespace FineTuning.Rlhf.Losses;

/// <summary>
/// Kahneman-Tversky Optimization (Ethayarajh et al. 2024, arXiv:2402.01306) on unpaired examples, as TRL computes it:
/// with <c>r = log pi(y|x) - log pi_ref(y|x)</c> and a detached batch estimate of the KL term
/// <c>z0 = max(0, mean(log pi(y'|x) - log pi_ref(y'|x)))</c> over mismatched completions y',
/// desirable: <c>lambda_D (1 - sigma(beta (r - z0)))</c>, undesirable: <c>lambda_U (1 - sigma(beta (z0 - r)))</c>.
/// </summary>
public sealed record KtoLoss
{
    /// <summary>Creates the loss.</summary>
    /// <param name="beta">Strength of the KL constraint. Default 0.1.</param>
    /// <param name="desirableWeight">lambda_D. Default 1.</param>
    /// <param name="undesirableWeight">lambda_U. Default 1.</param>
    public KtoLoss(double beta = 0.1, double desirableWeight = 1.0, double undesirableWeight = 1.0)
    {
        Beta = beta;
        DesirableWeight = desirableWeight;
        UndesirableWeight = undesirableWeight;
    }

    /// <summary>Strength of the KL constraint.</summary>
    public double Beta { get; init; }

    /// <summary>lambda_D, the weight of desirable examples.</summary>
    public double DesirableWeight { get; init; }

    /// <summary>lambda_U, the weight of undesirable examples.</summary>
    public double UndesirableWeight { get; init; }

    /// <summary>Loss per example, [B].</summary>
    /// <param name="policy">log pi(y|x), [B].</param>
    /// <param name="reference">log pi_ref(y|x), [B].</param>
    /// <param name="policyKl">log pi(y'|x) for mismatched completions, [B].</param>
    /// <param name="referenceKl">log pi_ref(y'|x), [B].</param>
    /// <param name="desirable">1 for desirable, 0 for undesirable, [B] float.</param>
    public Tensor Loss(Tensor policy, Tensor reference, Tensor policyKl, Tensor referenceKl, Tensor desirable)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(policyKl);
        ArgumentNullException.ThrowIfNull(referenceKl);
        ArgumentNullException.ThrowIfNull(desirable);
        if (!(Beta > 0)) throw new ArgumentOutOfRangeException(nameof(Beta), Beta, "beta must be positive.");
        using var scope = NewDisposeScope();
        Tensor z0 = policyKl.sub(referenceKl).mean().clamp_min(0).detach();
        Tensor r = policy.sub(reference);
        Tensor good = sigmoid(r.sub(z0).mul(Beta)).neg().add(1).mul(DesirableWeight);
        Tensor bad = sigmoid(z0.sub(r).mul(Beta)).neg().add(1).mul(UndesirableWeight);
        return desirable.mul(good).add(desirable.neg().add(1).mul(bad)).MoveToOuterDisposeScope();
    }
}

using System;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Rlhf.Grpo;

/// <summary>
/// The clipped policy-ratio loss of GRPO / RLOO per token, as TRL computes it:
/// <c>ratio = exp(logp - old_logp)</c>, <c>l = -min(ratio A, clip(ratio, 1 - eps_low, 1 + eps_high) A) + beta kl</c> with the
/// k3 estimator <c>kl = exp(ref - logp) - (ref - logp) - 1</c> (Schulman 2020), then reduced by the loss type.
/// </summary>
internal static class GrpoLoss
{
    /// <summary>Per-token losses [N, L] and the clipping indicators (float, 1 where clipped) for the metrics.</summary>
    public static (Tensor Loss, Tensor LowClipped, Tensor HighClipped, Tensor? Kl) PerToken(Tensor logProbs, Tensor oldLogProbs,
        Tensor? referenceLogProbs, Tensor advantages, double epsilonLow, double epsilonHigh, double beta)
    {
        using var scope = NewDisposeScope();
        Tensor a = advantages.unsqueeze(1);
        Tensor ratio = logProbs.sub(oldLogProbs).exp();
        Tensor clipped = ratio.clamp(1 - epsilonLow, 1 + epsilonHigh);
        Tensor loss = torch.minimum(ratio.mul(a), clipped.mul(a)).neg();
        Tensor? kl = null;
        if (referenceLogProbs is not null)
        {
            Tensor diff = referenceLogProbs.sub(logProbs);
            kl = diff.exp().sub(diff).sub(1);
            if (beta != 0) loss = loss.add(kl.mul(beta));
        }
        Tensor low, high;
        using (no_grad())
        {
            Tensor r = ratio.detach();
            low = r.lt(1 - epsilonLow).logical_and(a.lt(0).expand_as(r)).to(ScalarType.Float32);
            high = r.gt(1 + epsilonHigh).logical_and(a.gt(0).expand_as(r)).to(ScalarType.Float32);
        }
        return (loss.MoveToOuterDisposeScope(), low.MoveToOuterDisposeScope(), high.MoveToOuterDisposeScope(), kl?.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// The per-token losses [N, L] of one micro-batch reduced to a sum whose total over the step's micro-batches, divided
    /// by the step's completions (the trainer's target count), is the loss of <paramref name="type"/>: grpo
    /// <c>sum_i mean_t l</c>, dr_grpo <c>sum_it l / L</c>, dapo <c>C sum_it l / T</c> with <c>T</c> the completion tokens and
    /// <c>C</c> the completions of the whole step (<paramref name="step"/>; this micro-batch alone when null): a token
    /// mean over the whole generation batch, across gradient accumulation, as TRL's <c>num_items_in_batch</c>.
    /// </summary>
    public static Tensor Summed(Tensor perTokenLoss, Tensor mask, GrpoLossType type, int maxCompletionLength, (double Tokens, long Completions)? step = null)
    {
        using var scope = NewDisposeScope();
        Tensor masked = perTokenLoss.mul(mask);
        long n = mask.shape[0];
        Tensor result = type switch
        {
            GrpoLossType.Grpo => masked.sum(new long[] { 1 }).div(mask.sum(new long[] { 1 }).clamp_min(1)).sum(),
            GrpoLossType.DrGrpo => masked.sum().div(maxCompletionLength),
            GrpoLossType.Dapo when step is { } s => masked.sum().mul(s.Completions / Math.Max(s.Tokens, 1)),
            GrpoLossType.Dapo => masked.sum().div(mask.sum().clamp_min(1)).mul(n),
            _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown GRPO loss type."),
        };
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>Mean of <paramref name="values"/> over the unmasked tokens, as a number.</summary>
    public static double MaskedMean(Tensor values, Tensor mask)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return values.detach().mul(mask).sum().div(mask.sum().clamp_min(1)).to(ScalarType.Float64).item<double>();
    }
}

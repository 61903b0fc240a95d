using System;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Rlhf;

/// <summary>Per-sequence log-probabilities from next-token logits and masked labels.</summary>
public static class SequenceLogProbs
{
    /// <summary>
    /// Sum over positions of <c>log softmax(logits[t])[labels[t + 1]]</c> for labels that are not -100, per sequence,
    /// and how many tokens that sum covers. <paramref name="logits"/> [N, T, V], <paramref name="labels"/> [N, T].
    /// Computed in fp32.
    /// </summary>
    public static (Tensor Sum, Tensor Count) Compute(Tensor logits, Tensor labels)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(labels);
        using var scope = NewDisposeScope();
        long t = logits.shape[1];
        Tensor shiftedLogits = logits.narrow(1, 0, t - 1).to(ScalarType.Float32);
        Tensor shiftedLabels = labels.narrow(1, 1, t - 1);
        Tensor mask = shiftedLabels.ne(-100);
        Tensor safeLabels = shiftedLabels.masked_fill(mask.logical_not(), 0);
        Tensor tokenLogProbs = shiftedLogits.log_softmax(-1).gather(-1, safeLabels.unsqueeze(-1)).squeeze(-1);
        Tensor sum = tokenLogProbs.mul(mask.to(ScalarType.Float32)).sum(new long[] { 1 });
        Tensor count = mask.to(ScalarType.Float32).sum(new long[] { 1 });
        return (sum.MoveToOuterDisposeScope(), count.MoveToOuterDisposeScope());
    }
}

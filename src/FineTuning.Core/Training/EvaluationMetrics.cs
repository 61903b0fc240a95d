using System;

namespace FineTuning.Training;

/// <summary>Loss on the validation set at one point of the run.</summary>
/// <param name="Step">Optimizer steps completed when it was measured (0 = before training).</param>
/// <param name="Loss">Mean loss per target over the whole validation set.</param>
/// <param name="Targets">Targets the loss covered.</param>
public sealed record EvaluationMetrics(long Step, double Loss, long Targets)
{
    /// <summary><c>exp(Loss)</c>: perplexity when the loss is a per-token cross-entropy.</summary>
    public double Perplexity => Math.Exp(Loss);
}

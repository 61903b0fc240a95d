using System;

namespace FineTuning.Training;

/// <summary>Linear warmup, then linear decay to 0 at the last step (Hugging Face's <c>linear</c>).</summary>
public sealed record LinearSchedule : ILearningRateSchedule
{
    /// <inheritdoc />
    public double Multiplier(long step, long warmupSteps, long totalSteps)
    {
        if (step < warmupSteps) return (double)step / warmupSteps;
        return Math.Max(0.0, (double)(totalSteps - step) / Math.Max(1, totalSteps - warmupSteps));
    }
}

using System;

namespace FineTuning.Training;

/// <summary>
/// Linear warmup, then cosine decay (Hugging Face's <c>cosine</c>):
/// <c>0.5 * (1 + cos(pi * 2 * Cycles * progress))</c>, floored at <see cref="MinimumRatio"/>.
/// </summary>
/// <param name="Cycles">Number of cosine waves; 0.5 (default) decays once from the peak to the floor.</param>
/// <param name="MinimumRatio">The lowest multiplier, as a fraction of the peak. Default 0.</param>
public sealed record CosineSchedule(double Cycles = 0.5, double MinimumRatio = 0.0) : ILearningRateSchedule
{
    /// <inheritdoc />
    public double Multiplier(long step, long warmupSteps, long totalSteps)
    {
        if (step < warmupSteps) return (double)step / warmupSteps;
        double progress = (double)(step - warmupSteps) / Math.Max(1, totalSteps - warmupSteps);
        double cosine = Math.Max(0.0, 0.5 * (1.0 + Math.Cos(Math.PI * 2.0 * Cycles * progress)));
        return MinimumRatio + (1.0 - MinimumRatio) * cosine;
    }
}

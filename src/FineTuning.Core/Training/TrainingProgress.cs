using System;

namespace FineTuning.Training;

/// <summary>Reported through <see cref="IProgress{T}"/> after every optimizer step.</summary>
/// <param name="Step">Optimizer steps completed (1-based).</param>
/// <param name="TotalSteps">Optimizer steps planned for the run.</param>
/// <param name="Epoch">The 1-based epoch the step belongs to.</param>
/// <param name="Loss">Mean loss per target over the step.</param>
/// <param name="LearningRate">Learning rate used by the step.</param>
/// <param name="Elapsed">Wall time since the run started.</param>
public readonly record struct TrainingProgress(long Step, long TotalSteps, int Epoch, double Loss, double LearningRate, TimeSpan Elapsed)
{
    /// <summary>Fraction of the run done, in [0, 1].</summary>
    public double Fraction => TotalSteps == 0 ? 1.0 : (double)Step / TotalSteps;

    /// <summary>A simple estimate of the time left, from the mean step time so far.</summary>
    public TimeSpan Remaining => Step == 0 ? TimeSpan.Zero : Elapsed / Step * (TotalSteps - Step);
}

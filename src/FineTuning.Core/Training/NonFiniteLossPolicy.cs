namespace FineTuning.Training;

/// <summary>What the trainer does when a loss or gradient norm is NaN or infinite.</summary>
public enum NonFiniteLossPolicy
{
    /// <summary>Stop with a <see cref="NonFiniteLossException"/> naming the step. The model keeps its last good weights.</summary>
    Throw,

    /// <summary>Drop the step's gradients, count it in <see cref="TrainingRun.SkippedSteps"/>, and go on.</summary>
    SkipStep,
}

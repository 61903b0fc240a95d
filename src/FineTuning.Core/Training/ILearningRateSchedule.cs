namespace FineTuning.Training;

/// <summary>
/// A learning-rate schedule: the multiplier of the peak learning rate at a 0-based optimizer step. Warmup is
/// shared by all schedules (linear from 0, as in Hugging Face's <c>get_*_schedule_with_warmup</c>); the schedule
/// decides what happens after it.
/// </summary>
public interface ILearningRateSchedule
{
    /// <summary>The multiplier in [0, 1] for optimizer step <paramref name="step"/> (0-based) of <paramref name="totalSteps"/>.</summary>
    double Multiplier(long step, long warmupSteps, long totalSteps);
}

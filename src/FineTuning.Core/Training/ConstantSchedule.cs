namespace FineTuning.Training;

/// <summary>Linear warmup, then the peak learning rate (Hugging Face's <c>constant_with_warmup</c>).</summary>
public sealed record ConstantSchedule : ILearningRateSchedule
{
    /// <inheritdoc />
    public double Multiplier(long step, long warmupSteps, long totalSteps) =>
        step < warmupSteps ? (double)step / warmupSteps : 1.0;
}

namespace FineTuning.Training;

/// <summary>
/// An objective that needs to know which optimizer step it is computing, for example to derive a per-step sampling seed
/// so that a run resumed from a checkpoint samples exactly what the uninterrupted run would have (GRPO). The trainer
/// calls <see cref="BeginStep"/> before the micro-batches of every step it computes, including the first step after a
/// resume; steps replayed to reach a checkpoint are not announced.
/// </summary>
public interface IStepAwareObjective
{
    /// <summary>Step <paramref name="step"/> (1-based, as <c>TrainingProgress.Step</c>) is about to be computed.</summary>
    void BeginStep(long step);
}

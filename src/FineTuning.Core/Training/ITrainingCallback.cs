namespace FineTuning.Training;

/// <summary>
/// Called by the trainer as the run goes (Hugging Face's <c>TrainerCallback</c>: <c>on_train_begin</c>, <c>on_log</c>,
/// <c>on_evaluate</c>, <c>on_train_end</c>); add one with <c>WithCallback</c>. Every method has an empty default, so an
/// implementation overrides only what it needs. Calls come on the training thread, in step order: a step, then the
/// evaluations and warnings of that step. They happen outside the per-step tensor scope; an exception thrown by a
/// callback stops the run.
/// </summary>
public interface ITrainingCallback
{
    /// <summary>The run starts (after a resume restored its history, which is not replayed to the callback).</summary>
    /// <param name="run">The run; <see cref="TrainingRun.Options"/> holds its configuration.</param>
    void OnTrainBegin(TrainingRun run)
    {
    }

    /// <summary>An optimizer step was applied (skipped steps are not reported).</summary>
    /// <param name="run">The run.</param>
    /// <param name="step">What the step did; also the last entry of <see cref="TrainingRun.History"/>.</param>
    void OnStep(TrainingRun run, StepMetrics step)
    {
    }

    /// <summary>The validation set was evaluated (loss and any task metrics).</summary>
    /// <param name="run">The run.</param>
    /// <param name="evaluation">The evaluation, as it appears in <see cref="TrainingRun.Evaluations"/>.</param>
    void OnEvaluate(TrainingRun run, EvaluationMetrics evaluation)
    {
    }

    /// <summary>A warning was raised (overfitting, forgetting, ...).</summary>
    /// <param name="run">The run.</param>
    /// <param name="warning">The warning, as it appears in <see cref="TrainingRun.Warnings"/>.</param>
    void OnWarning(TrainingRun run, TrainingWarning warning)
    {
    }

    /// <summary>The run ended normally, early or by cancellation (not when it failed with an exception).</summary>
    /// <param name="run">The finished run: history, evaluations, warnings and elapsed time are final.</param>
    void OnTrainEnd(TrainingRun run)
    {
    }
}

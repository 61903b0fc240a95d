namespace FineTuning.Training;

/// <summary>
/// A check that raises warnings about the finished run (on the weights the run returns) before the callbacks hear of
/// its end, so that log writers get <see cref="ITrainingCallback.OnWarning"/> for them and a report written at
/// <see cref="ITrainingCallback.OnTrainEnd"/> lists them. Passed in among the callbacks; one-call SFT's untrained-token
/// check is one.
/// </summary>
internal interface IRunEndCheck
{
    /// <summary>Appends any warning to <see cref="TrainingRun.WarningList"/>.</summary>
    void Check(TrainingRun run);
}

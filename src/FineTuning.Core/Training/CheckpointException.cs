namespace FineTuning.Training;

/// <summary>
/// A checkpoint is missing, damaged, or does not fit the run that tries to resume from it; or writing one failed
/// (e.g. a full disk). In the last case <see cref="Folder"/> names the checkpoint that was not written, nothing was
/// left under that name, and <see cref="Run"/> carries the run so far.
/// </summary>
public sealed class CheckpointException : FineTuningException
{
    /// <summary>Creates the exception.</summary>
    public CheckpointException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public CheckpointException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public CheckpointException(string message, System.Exception? innerException)
        : base(message, innerException)
    {
    }

    internal CheckpointException(string folder, TrainingRun run, System.Exception innerException)
        : base($"Could not write checkpoint {folder} after step {run.StepsCompleted} of {run.TotalSteps}: {Cause(innerException)} " +
               "Nothing was left under that name; earlier checkpoints are intact. The run so far (model, history, evaluations) is in CheckpointException.Run.",
               innerException)
    {
        Folder = folder;
        Run = run;
    }

    private static string Cause(System.Exception e) => e is IO.SaveException { InnerException: { } io } ? io.Message : e.Message;

    /// <summary>The checkpoint folder that could not be written (a full path), when a write failed.</summary>
    public string? Folder { get; }

    /// <summary>
    /// When a checkpoint write failed during <c>Train</c>: the run up to that point (the model trained in place, its
    /// history and evaluations). The caller owns it and disposes it. Null otherwise.
    /// </summary>
    public TrainingRun? Run { get; }
}

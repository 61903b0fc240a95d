namespace FineTuning.Training;

/// <summary>A checkpoint is missing, damaged, or does not fit the run that tries to resume from it.</summary>
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
}

namespace FineTuning.Rlhf.Data;

/// <summary>Preference data is unusable (empty side, identical sides, too long for the context...).</summary>
public sealed class PreferenceDataException : FineTuningException
{
    /// <summary>Creates the exception.</summary>
    public PreferenceDataException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public PreferenceDataException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public PreferenceDataException(string message, System.Exception? innerException)
        : base(message, innerException)
    {
    }
}

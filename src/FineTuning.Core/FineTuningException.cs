using System;

namespace FineTuning;

/// <summary>Base class of every error FineTuning reports on purpose.</summary>
public class FineTuningException : Exception
{
    /// <summary>Creates an exception with no message.</summary>
    public FineTuningException()
    {
    }

    /// <summary>Creates an exception with a message.</summary>
    public FineTuningException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with a message and the error that caused it.</summary>
    public FineTuningException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

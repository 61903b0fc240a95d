using System;

namespace FineTuning;

/// <summary>
/// Base class of the exceptions the FineTuning library throws for problems it detects itself (bad files,
/// inconsistent configuration), so callers can catch the library's errors without catching everything.
/// </summary>
public class FineTuningException : Exception
{
    /// <summary>Creates an exception with a generic message.</summary>
    public FineTuningException()
    {
    }

    /// <summary>Creates an exception with <paramref name="message"/>.</summary>
    /// <param name="message">What went wrong, for a human.</param>
    public FineTuningException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with <paramref name="message"/> caused by <paramref name="innerException"/>.</summary>
    /// <param name="message">What went wrong, for a human.</param>
    /// <param name="innerException">The exception that caused this one.</param>
    public FineTuningException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

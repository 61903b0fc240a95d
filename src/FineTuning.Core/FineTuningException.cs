using System;

namespace FineTuning;

/// <summary>The base type of every exception the FineTuning library throws for a problem it detected.</summary>
public class FineTuningException : Exception
{
    /// <summary>Creates an exception with a default message.</summary>
    public FineTuningException()
    {
    }

    /// <summary>Creates an exception with <paramref name="message"/>.</summary>
    /// <param name="message">What went wrong.</param>
    public FineTuningException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with <paramref name="message"/> caused by <paramref name="innerException"/>.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The exception that caused this one.</param>
    public FineTuningException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

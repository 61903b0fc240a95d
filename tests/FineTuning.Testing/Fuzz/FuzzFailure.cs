using System;

namespace FineTuning.Testing.Fuzz;

/// <summary>A fuzz input broke the invariant; the message says how to rebuild it.</summary>
public sealed class FuzzFailure : Exception
{
    /// <summary>Creates the failure.</summary>
    public FuzzFailure()
    {
    }

    /// <summary>Creates the failure.</summary>
    /// <param name="message">What happened and where.</param>
    public FuzzFailure(string message)
        : base(message)
    {
    }

    /// <summary>Creates the failure.</summary>
    /// <param name="message">What happened and where.</param>
    /// <param name="inner">The exception that escaped, if any.</param>
    public FuzzFailure(string message, Exception? inner)
        : base(message, inner)
    {
    }
}

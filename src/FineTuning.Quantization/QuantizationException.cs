using System;

namespace FineTuning.Quantization;

/// <summary>A weight, input, option or file that quantization cannot handle; the message says which and why.</summary>
public sealed class QuantizationException : FineTuningException
{
    /// <summary>Creates an exception with no message.</summary>
    public QuantizationException()
    {
    }

    /// <summary>Creates an exception with a message.</summary>
    public QuantizationException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with a message and the error that caused it.</summary>
    public QuantizationException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

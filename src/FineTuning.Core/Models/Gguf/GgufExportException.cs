using System;

namespace FineTuning.Models.Gguf;

/// <summary>A model, vocabulary or option cannot be written as GGUF; nothing was written at the target path.</summary>
public sealed class GgufExportException : FineTuningException
{
    /// <summary>Creates an exception with a default message.</summary>
    public GgufExportException()
        : base("The model cannot be exported as GGUF.")
    {
    }

    /// <summary>Creates an exception with <paramref name="message"/>.</summary>
    /// <param name="message">What is wrong.</param>
    public GgufExportException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with <paramref name="message"/> caused by <paramref name="innerException"/>.</summary>
    /// <param name="message">What is wrong.</param>
    /// <param name="innerException">The cause.</param>
    public GgufExportException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

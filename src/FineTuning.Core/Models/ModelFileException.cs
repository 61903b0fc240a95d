using System;

namespace FineTuning.Models;

/// <summary>A model or tokenizer file is unreadable: truncated, corrupt or with impossible header values.</summary>
public sealed class ModelFileException : FineTuningException
{
    /// <summary>Creates an exception with a default message.</summary>
    public ModelFileException()
        : base("A model file is invalid.")
    {
    }

    /// <summary>Creates an exception with <paramref name="message"/>.</summary>
    /// <param name="message">What went wrong.</param>
    public ModelFileException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with <paramref name="message"/> caused by <paramref name="innerException"/>.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The exception that caused this one.</param>
    public ModelFileException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an exception about the file at <paramref name="filePath"/>; the message names the file.</summary>
    /// <param name="filePath">The offending file.</param>
    /// <param name="problem">What is wrong with it.</param>
    /// <param name="innerException">The exception that revealed the problem, if any.</param>
    public ModelFileException(string filePath, string problem, Exception? innerException)
        : base($"{filePath}: {problem}", innerException!)
    {
        FilePath = filePath;
    }

    /// <summary>The offending file, when known.</summary>
    public string? FilePath { get; }
}

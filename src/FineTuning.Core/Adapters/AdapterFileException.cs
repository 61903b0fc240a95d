using System;

namespace FineTuning.Adapters;

/// <summary>
/// An adapter folder (<c>adapter_config.json</c> + <c>adapter_model.safetensors</c>) is invalid or does not fit the model.
/// The message names the file and the field or tensor. FineTuning.Lora's <c>AdapterFormatException</c> derives from it,
/// so catching this type catches every adapter file problem.
/// </summary>
public class AdapterFileException : FineTuningException
{
    /// <summary>Creates the exception.</summary>
    public AdapterFileException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public AdapterFileException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public AdapterFileException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an exception about the file at <paramref name="filePath"/>; the message starts with the file.</summary>
    /// <param name="filePath">The offending file.</param>
    /// <param name="problem">What is wrong with it (the field or tensor and what was expected).</param>
    /// <param name="innerException">The exception that revealed the problem, if any.</param>
    public AdapterFileException(string filePath, string problem, Exception? innerException = null)
        : base($"{filePath}: {problem}", innerException)
    {
        FilePath = filePath;
    }

    /// <summary>The offending file, when known.</summary>
    public string? FilePath { get; }
}

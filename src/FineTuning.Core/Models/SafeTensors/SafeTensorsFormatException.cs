using System;

namespace FineTuning.Models.SafeTensors;

/// <summary>
/// A safetensors file or a sharded checkpoint index violates the format (bad header, bad offsets,
/// truncated data...). The message names the file and, where one is involved, the tensor.
/// </summary>
public sealed class SafeTensorsFormatException : FineTuningException
{
    /// <summary>Creates an exception with a generic message.</summary>
    public SafeTensorsFormatException()
    {
    }

    /// <summary>Creates an exception with <paramref name="message"/>.</summary>
    /// <param name="message">What went wrong, for a human.</param>
    public SafeTensorsFormatException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with <paramref name="message"/> caused by <paramref name="innerException"/>.</summary>
    /// <param name="message">What went wrong, for a human.</param>
    /// <param name="innerException">The exception that caused this one.</param>
    public SafeTensorsFormatException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>
    /// Creates an exception about <paramref name="filePath"/> (and <paramref name="tensorName"/> if not null);
    /// the message starts with both so logs show where the problem is.
    /// </summary>
    /// <param name="filePath">The file that is malformed.</param>
    /// <param name="tensorName">The tensor whose entry is malformed, or null if the problem is not about one tensor.</param>
    /// <param name="problem">What is wrong.</param>
    /// <param name="innerException">The exception that revealed the problem, if any.</param>
    public SafeTensorsFormatException(string filePath, string? tensorName, string problem, Exception? innerException = null)
        : base(Describe(filePath, tensorName, problem), innerException)
    {
        FilePath = filePath;
        TensorName = tensorName;
    }

    /// <summary>The malformed file, when known.</summary>
    public string? FilePath { get; }

    /// <summary>The tensor whose entry is malformed, when the problem concerns one tensor.</summary>
    public string? TensorName { get; }

    private static string Describe(string filePath, string? tensorName, string problem) =>
        tensorName is null
            ? $"Invalid safetensors file '{filePath}': {problem}"
            : $"Invalid safetensors file '{filePath}', tensor '{tensorName}': {problem}";
}

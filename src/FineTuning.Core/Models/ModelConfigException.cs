using System;
using System.Collections.Generic;

namespace FineTuning.Models;

/// <summary>A model configuration is invalid; <see cref="Problems"/> lists every problem found, not only the first.</summary>
public sealed class ModelConfigException : FineTuningException
{
    /// <summary>Creates an exception with a default message and no problems.</summary>
    public ModelConfigException()
        : this("The model configuration is invalid.")
    {
    }

    /// <summary>Creates an exception with <paramref name="message"/> and no listed problems.</summary>
    /// <param name="message">What went wrong.</param>
    public ModelConfigException(string message)
        : base(message)
    {
        Problems = Array.Empty<string>();
    }

    /// <summary>Creates an exception with <paramref name="message"/> caused by <paramref name="innerException"/>.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The exception that caused this one.</param>
    public ModelConfigException(string message, Exception innerException)
        : base(message, innerException)
    {
        Problems = Array.Empty<string>();
    }

    /// <summary>Creates an exception for <paramref name="configName"/> listing <paramref name="problems"/>.</summary>
    /// <param name="configName">The configuration type, e.g. <c>LlamaConfig</c>.</param>
    /// <param name="problems">Every problem found.</param>
    public ModelConfigException(string configName, IReadOnlyList<string> problems)
        : base(FormatMessage(configName, problems))
    {
        Problems = problems;
    }

    /// <summary>Every problem found, one sentence each.</summary>
    public IReadOnlyList<string> Problems { get; }

    private static string FormatMessage(string configName, IReadOnlyList<string> problems)
    {
        ArgumentNullException.ThrowIfNull(problems);
        return $"{configName} is invalid ({problems.Count} problem(s)):{Environment.NewLine} - "
            + string.Join(Environment.NewLine + " - ", problems);
    }
}

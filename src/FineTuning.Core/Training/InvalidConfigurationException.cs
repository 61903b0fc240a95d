using System;
using System.Collections.Generic;
using System.Linq;

namespace FineTuning.Training;

/// <summary>The builder's configuration has problems; all of them are listed at once.</summary>
public sealed class InvalidConfigurationException : FineTuningException
{
    /// <summary>Creates the exception from the list of problems.</summary>
    public InvalidConfigurationException(IReadOnlyList<string> problems)
        : base(Format(problems))
    {
        Problems = problems;
    }

    /// <summary>Every problem found, one sentence each.</summary>
    public IReadOnlyList<string> Problems { get; }

    private static string Format(IReadOnlyList<string> problems)
    {
        ArgumentNullException.ThrowIfNull(problems);
        return $"The fine-tuning configuration has {problems.Count} problem(s):" + Environment.NewLine +
               string.Join(Environment.NewLine, problems.Select(p => "  - " + p));
    }
}

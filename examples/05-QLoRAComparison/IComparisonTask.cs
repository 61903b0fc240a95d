using System.Collections.Generic;

namespace FineTuning.Examples.QLoRAComparison;

/// <summary>A model + data + quality measure that every configuration is run on.</summary>
internal interface IComparisonTask
{
    /// <summary>The name given to <c>--task</c>.</summary>
    string Name { get; }

    /// <summary>Markdown heading of the task's section.</summary>
    string Heading { get; }

    /// <summary>Markdown paragraph: model, data, hyperparameters.</summary>
    string Setup { get; }

    /// <summary>What the quality column holds.</summary>
    string QualityNote { get; }

    /// <summary>Task-specific footnotes.</summary>
    IReadOnlyList<string> Notes { get; }

    /// <summary>Why the task cannot run on this machine (a missing model folder), or null. Must not touch libtorch.</summary>
    string? Unavailable();

    /// <summary>
    /// Runs one configuration in this process (the child) and measures it; exceptions propagate. Ends the meter's
    /// phases <see cref="PhaseNames.Load"/> (model and data ready), <see cref="PhaseNames.Train"/> (after <c>Train</c>;
    /// not for load-only) and <see cref="PhaseNames.Evaluate"/> (after the quality measure). A training configuration
    /// writes its run's report (report.html with its charts) into <paramref name="reportFolder"/>.
    /// </summary>
    ConfigResult Run(Configuration configuration, bool smoke, PeakMeter memory, string reportFolder);
}

/// <summary>The phases whose peak memory is reported separately.</summary>
internal static class PhaseNames
{
    public const string Load = "load", Train = "train", Evaluate = "evaluate";

    public static readonly string[] All = { Load, Train, Evaluate };
}

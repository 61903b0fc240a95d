using System;
using System.Collections.Generic;

namespace FineTuning.Evaluation;

/// <summary>
/// The result of one pass over a generation evaluation set: every output, the mean metrics, and what the pass cost.
/// </summary>
/// <param name="Outputs">One entry per example, in order.</param>
/// <param name="ExactMatch">Fraction of outputs equal to their reference (trimmed), over the examples that have one; null when none has.</param>
/// <param name="Score">Mean of the user scorer; null without a scorer.</param>
/// <param name="FormatRate">Fraction of outputs accepted by the format check; null without one.</param>
/// <param name="Elapsed">Wall time of the pass (tokenizing, generating, scoring).</param>
/// <param name="PeakMemoryBytes">Peak resident memory of the process during the pass, sampled every 10 ms; null where it cannot be read.</param>
public sealed record GenerationReport(
    IReadOnlyList<GeneratedOutput> Outputs, double? ExactMatch, double? Score, double? FormatRate, TimeSpan Elapsed, long? PeakMemoryBytes)
{
    /// <summary>The metrics by name (<c>exact_match</c>, <c>score</c>, <c>format_rate</c>), those that were measured.</summary>
    public IReadOnlyDictionary<string, double> ToMetrics()
    {
        var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
        if (ExactMatch is { } exact) metrics[MetricNames.ExactMatch] = exact;
        if (Score is { } score) metrics[MetricNames.Score] = score;
        if (FormatRate is { } format) metrics[MetricNames.FormatRate] = format;
        return metrics;
    }
}

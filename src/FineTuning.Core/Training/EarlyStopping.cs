using System;
using System.Collections.Generic;

namespace FineTuning.Training;

/// <summary>
/// Stops training when the validation metric has not improved for <see cref="Patience"/> evaluations in a row (HF's
/// <c>EarlyStoppingCallback</c>: <c>early_stopping_patience</c>, <c>early_stopping_threshold</c>,
/// <c>metric_for_best_model</c>, <c>greater_is_better</c>). Set it as <see cref="TrainingOptions.EarlyStopping"/>;
/// it needs a validation set (<c>WithValidation</c>). Whether to stop is decided from the run's evaluations alone, so
/// a resumed run continues the same count.
/// </summary>
public sealed record EarlyStopping
{
    /// <summary>Evaluations without improvement after which the run stops. Default 3; at least 1.</summary>
    public int Patience { get; init; } = 3;

    /// <summary>An evaluation improves on the best only by more than this (in the metric's units). Default 0.</summary>
    public double MinDelta { get; init; }

    /// <summary>The value compared; default the validation loss.</summary>
    public Func<EvaluationMetrics, double> Metric { get; init; } = static m => m.Loss;

    /// <summary>True when a larger metric is better (accuracy); false (default) for losses.</summary>
    public bool GreaterIsBetter { get; init; }

    /// <summary>Index of the best of <paramref name="evaluations"/> (the first of equals), or -1 when there are none.</summary>
    public int BestIndex(IReadOnlyList<EvaluationMetrics> evaluations)
    {
        ArgumentNullException.ThrowIfNull(evaluations);
        int best = -1;
        for (int i = 0; i < evaluations.Count; i++)
        {
            if (best < 0 || Improves(Metric(evaluations[i]), Metric(evaluations[best]))) best = i;
        }
        return best;
    }

    /// <summary>
    /// True when the last <see cref="Patience"/> evaluations of <paramref name="evaluations"/> all failed to improve
    /// on the best value seen before them.
    /// </summary>
    public bool ShouldStop(IReadOnlyList<EvaluationMetrics> evaluations)
    {
        ArgumentNullException.ThrowIfNull(evaluations);
        if (evaluations.Count <= Patience) return false;
        int bestIndex = 0;
        int sinceBest = 0;
        for (int i = 1; i < evaluations.Count; i++)
        {
            if (Improves(Metric(evaluations[i]), Metric(evaluations[bestIndex])))
            {
                bestIndex = i;
                sinceBest = 0;
            }
            else
            {
                sinceBest++;
            }
        }
        return sinceBest >= Patience;
    }

    internal IEnumerable<string> Validate()
    {
        if (Patience < 1) yield return $"EarlyStopping.Patience must be at least 1 (was {Patience}).";
        if (!(MinDelta >= 0) || double.IsInfinity(MinDelta)) yield return $"EarlyStopping.MinDelta must be a finite number >= 0 (was {MinDelta}).";
        if (Metric is null) yield return "EarlyStopping.Metric must be set.";
    }

    private bool Improves(double candidate, double best) =>
        !double.IsNaN(candidate) && (double.IsNaN(best) || ((GreaterIsBetter ? candidate > best : candidate < best) && Math.Abs(candidate - best) > MinDelta));
}

using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Text.Json.Serialization;

namespace FineTuning.Training;

/// <summary>Loss on the validation set at one point of the run, and any task metrics measured with it.</summary>
/// <param name="Step">Optimizer steps completed when it was measured (0 = before training).</param>
/// <param name="Loss">Mean loss per target over the whole validation set.</param>
/// <param name="Targets">Targets the loss covered.</param>
public sealed record EvaluationMetrics(long Step, double Loss, long Targets)
{
    /// <summary><c>exp(Loss)</c>: perplexity when the loss is a per-token cross-entropy.</summary>
    public double Perplexity => Math.Exp(Loss);

    /// <summary>
    /// Task metrics measured at the same step, by name (the names TRL/HF log where one exists, e.g.
    /// <c>accuracy</c>, <c>macro_f1</c>, <c>mean_token_accuracy</c>, <c>exact_match</c>); empty when none were asked for.
    /// </summary>
    public IReadOnlyDictionary<string, double> Metrics { get; init; } = ImmutableDictionary<string, double>.Empty;

    /// <summary>
    /// The classification report of this evaluation (per-class precision, recall, F1 and the confusion matrix) when the
    /// objective classifies; its accuracy and macro-F1 are also in <see cref="Metrics"/>. Not kept in checkpoints.
    /// </summary>
    [JsonIgnore]
    public FineTuning.Evaluation.ClassificationReport? Classification { get; init; }

    /// <summary>
    /// The generation outputs and scores of this evaluation (before training and at the end, with
    /// <c>EvaluationOptions.Generation</c>); its metrics are also in <see cref="Metrics"/>. Not kept in checkpoints.
    /// </summary>
    [JsonIgnore]
    public FineTuning.Evaluation.GenerationReport? Generation { get; init; }

    /// <summary>Equal when step, loss, targets and every named metric are equal (metrics compared by content; the typed reports derive from the same measurement and are not compared).</summary>
    public bool Equals(EvaluationMetrics? other)
    {
        if (other is null) return false;
        if (ReferenceEquals(this, other)) return true;
        if (Step != other.Step || !Loss.Equals(other.Loss) || Targets != other.Targets || Metrics.Count != other.Metrics.Count) return false;
        foreach (KeyValuePair<string, double> metric in Metrics)
        {
            if (!other.Metrics.TryGetValue(metric.Key, out double value) || !metric.Value.Equals(value)) return false;
        }
        return true;
    }

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Step, Loss, Targets, Metrics.Count);
}

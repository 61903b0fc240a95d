using System.Collections.Generic;
using FineTuning.Training;

namespace FineTuning.Evaluation;

/// <summary>The train-vs-validation gap per evaluation and the overfitting rule of <see cref="EvaluationOptions.OverfittingPatience"/>.</summary>
internal static class OverfittingCheck
{
    /// <summary>Mean loss of the applied steps in (<paramref name="after"/>, <paramref name="upTo"/>], or null when none was applied.</summary>
    public static double? TrainLoss(IReadOnlyList<StepMetrics> history, long after, long upTo)
    {
        double sum = 0;
        int count = 0;
        for (int i = history.Count - 1; i >= 0 && history[i].Step > after; i--)
        {
            if (history[i].Step > upTo) continue;
            sum += history[i].Loss;
            count++;
        }
        return count == 0 ? null : sum / count;
    }

    /// <summary>
    /// True when the last <paramref name="patience"/> transitions between consecutive evaluations (both with a training
    /// loss) each raised the validation loss and lowered the training loss, and the one before did not: the warning is
    /// raised once per streak.
    /// </summary>
    public static bool StreakReached(IReadOnlyList<EvaluationMetrics> evaluations, int patience)
    {
        if (patience < 1) return false;
        int streak = 0;
        for (int i = evaluations.Count - 1; i >= 1 && streak <= patience; i--)
        {
            if (!Diverges(evaluations[i - 1], evaluations[i])) break;
            streak++;
        }
        return streak == patience;
    }

    private static bool Diverges(EvaluationMetrics previous, EvaluationMetrics current) =>
        previous.Metrics.TryGetValue(MetricNames.TrainLoss, out double trainBefore)
        && current.Metrics.TryGetValue(MetricNames.TrainLoss, out double trainNow)
        && current.Loss > previous.Loss
        && trainNow < trainBefore;

    /// <summary>The warning text for the streak ending at the last evaluation.</summary>
    public static string Message(IReadOnlyList<EvaluationMetrics> evaluations, int patience)
    {
        EvaluationMetrics first = evaluations[evaluations.Count - 1 - patience], last = evaluations[^1];
        var invariant = System.Globalization.CultureInfo.InvariantCulture;
        return string.Create(invariant, $"Validation loss rose for {patience} evaluations in a row ({first.Loss:F4} at step {first.Step} -> {last.Loss:F4} at step {last.Step}) ")
            + string.Create(invariant, $"while the training loss fell ({first.Metrics[MetricNames.TrainLoss]:F4} -> {last.Metrics[MetricNames.TrainLoss]:F4}): the model is overfitting. ")
            + "Train for fewer steps, use EarlyStopping with LoadBestAtEnd, add data or lower the learning rate.";
    }

    /// <summary>The metrics of an evaluation plus <c>train_loss</c> and <c>generalization_gap</c> when steps ran since <paramref name="previousStep"/>.</summary>
    public static void AddGap(IDictionary<string, double> metrics, IReadOnlyList<StepMetrics> history, long previousStep, long step, double validationLoss)
    {
        if (TrainLoss(history, previousStep, step) is not { } train) return;
        metrics[MetricNames.TrainLoss] = train;
        if (!double.IsNaN(validationLoss)) metrics[MetricNames.GeneralizationGap] = validationLoss - train;
    }
}

using System;
using System.Collections.Generic;
using FineTuning.Models;
using static TorchSharp.torch;

namespace FineTuning.Evaluation;

/// <summary>
/// Collects what an <see cref="IEvaluatingObjective{TExample}"/> predicted during a validation pass, so the task metrics
/// come from the same forward pass as the validation loss: class predictions (accuracy, macro-F1, confusion matrix) and
/// next-token hits (<c>mean_token_accuracy</c>), and per-example values of other named metrics reported as their mean
/// (a preference objective's <c>rewards/margins</c>).
/// </summary>
public sealed class PredictionRecorder
{
    private readonly List<long> _labels = new();
    private readonly List<long> _predictions = new();
    private readonly Dictionary<string, (double Sum, long Count)> _means = new(StringComparer.Ordinal);
    private int _classes;

    /// <summary>Labelled tokens whose argmax prediction was the label.</summary>
    public long CorrectTokens { get; private set; }

    /// <summary>Labelled tokens seen.</summary>
    public long LabelledTokens { get; private set; }

    /// <summary>Class labels recorded so far.</summary>
    public IReadOnlyList<long> Labels => _labels;

    /// <summary>Class predictions recorded so far, parallel to <see cref="Labels"/>.</summary>
    public IReadOnlyList<long> Predictions => _predictions;

    /// <summary>Records the argmax of <paramref name="logits"/> [batch, classes] against <paramref name="labels"/> [batch].</summary>
    /// <exception cref="ArgumentException">The shapes do not match.</exception>
    public void AddClassLogits(Tensor logits, Tensor labels)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(labels);
        if (logits.dim() != 2 || labels.dim() != 1 || logits.shape[0] != labels.shape[0])
            throw new ArgumentException($"Expected logits [batch, classes] and labels [batch]; got [{string.Join(", ", logits.shape)}] and [{string.Join(", ", labels.shape)}].", nameof(logits));
        using var noGrad = no_grad();
        using Tensor argmax = logits.detach().argmax(1);
        using Tensor predictedCpu = argmax.cpu();
        using Tensor labelsCpu = labels.detach().to(ScalarType.Int64).cpu();
        AddClassPredictions(labelsCpu.data<long>().ToArray(), predictedCpu.data<long>().ToArray(), (int)logits.shape[1]);
    }

    /// <summary>Records class predictions made elsewhere.</summary>
    /// <param name="labels">True classes.</param>
    /// <param name="predictions">Predicted classes, one per label.</param>
    /// <param name="classes">Number of classes of the model (so that classes absent from the data still count in macro-F1).</param>
    public void AddClassPredictions(IReadOnlyList<long> labels, IReadOnlyList<long> predictions, int classes)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(predictions);
        if (labels.Count != predictions.Count)
            throw new ArgumentException($"{labels.Count} labels but {predictions.Count} predictions.", nameof(predictions));
        ArgumentOutOfRangeException.ThrowIfLessThan(classes, 1);
        _labels.AddRange(labels);
        _predictions.AddRange(predictions);
        _classes = Math.Max(_classes, classes);
    }

    /// <summary>
    /// Records next-token hits as TRL's <c>mean_token_accuracy</c> counts them: the argmax of <paramref name="logits"/>
    /// [batch, T, vocab] at positions 0..T-2 against <paramref name="labels"/> [batch, T] at 1..T-1, over the labels that
    /// are not <see cref="TokenSequence.IgnoreIndex"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The shapes do not match.</exception>
    public void AddNextTokenLogits(Tensor logits, Tensor labels)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(labels);
        if (logits.dim() != 3 || labels.dim() != 2 || logits.shape[0] != labels.shape[0] || logits.shape[1] != labels.shape[1])
            throw new ArgumentException($"Expected logits [batch, T, vocab] and labels [batch, T]; got [{string.Join(", ", logits.shape)}] and [{string.Join(", ", labels.shape)}].", nameof(logits));
        long length = labels.shape[1];
        if (length < 2) return;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        Tensor predicted = logits.detach().narrow(1, 0, length - 1).argmax(-1);
        Tensor target = labels.detach().narrow(1, 1, length - 1);
        Tensor kept = target.ne(TokenSequence.IgnoreIndex);
        CorrectTokens += predicted.eq(target).logical_and(kept).sum().item<long>();
        LabelledTokens += kept.sum().item<long>();
    }

    /// <summary>Records next-token hits counted elsewhere.</summary>
    public void AddTokenCounts(long correct, long labelled)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(correct);
        ArgumentOutOfRangeException.ThrowIfLessThan(labelled, correct);
        CorrectTokens += correct;
        LabelledTokens += labelled;
    }

    /// <summary>
    /// Records one value per example of the metric <paramref name="name"/>, reported by <see cref="ToMetrics"/> as the
    /// mean over every value recorded under that name: for metrics that are neither classes nor tokens (e.g. the reward
    /// margin of each preference pair under <see cref="MetricNames.RewardsMargins"/>).
    /// </summary>
    /// <exception cref="ArgumentException">The name is empty, or a value is NaN or infinite.</exception>
    public void AddValues(string name, IReadOnlyList<double> values)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(values);
        double sum = 0;
        for (int i = 0; i < values.Count; i++)
        {
            if (!double.IsFinite(values[i]))
                throw new ArgumentException($"Value {i} of the metric '{name}' is {values[i]}; expected a finite number.", nameof(values));
            sum += values[i];
        }
        (double Sum, long Count) total = _means.GetValueOrDefault(name);
        _means[name] = (total.Sum + sum, total.Count + values.Count);
    }

    /// <summary>The classification report, or null when no class predictions were recorded.</summary>
    public ClassificationReport? Classification() =>
        _labels.Count == 0 ? null : ClassificationReport.FromPredictions(_labels, _predictions, _classes);

    /// <summary>
    /// The recorded metrics by name (accuracy and macro_f1 for classes; mean_token_accuracy for tokens; the mean of each
    /// metric given to <see cref="AddValues"/>).
    /// </summary>
    /// <exception cref="InvalidOperationException">A metric given to <see cref="AddValues"/> has the name of a class or token metric also recorded.</exception>
    public IReadOnlyDictionary<string, double> ToMetrics()
    {
        var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
        if (Classification() is { } report)
        {
            foreach (KeyValuePair<string, double> m in report.ToMetrics()) metrics[m.Key] = m.Value;
        }
        if (LabelledTokens > 0) metrics[MetricNames.MeanTokenAccuracy] = CorrectTokens / (double)LabelledTokens;
        foreach (KeyValuePair<string, (double Sum, long Count)> mean in _means)
        {
            if (mean.Value.Count == 0) continue;
            if (!metrics.TryAdd(mean.Key, mean.Value.Sum / mean.Value.Count))
                throw new InvalidOperationException($"The metric '{mean.Key}' was recorded both from predictions and as values; give the values another name.");
        }
        return metrics;
    }
}

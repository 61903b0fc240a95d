using System;
using System.Collections.Generic;
using System.Collections.Immutable;

namespace FineTuning.Evaluation;

/// <summary>
/// Accuracy, per-class precision / recall / F1 and the confusion matrix of class predictions, as scikit-learn's
/// <c>classification_report</c> and <c>confusion_matrix</c> compute them (a class with no predictions has precision 0,
/// one with no examples has recall 0: sklearn's <c>zero_division=0</c>). Macro-F1 is the unweighted mean of the
/// per-class F1 over every class of the model, present in the data or not.
/// </summary>
public sealed class ClassificationReport
{
    private readonly long[][] _matrix;

    private ClassificationReport(long[][] matrix)
    {
        _matrix = matrix;
        int classes = matrix.Length;
        var precision = new double[classes];
        var recall = new double[classes];
        var f1 = new double[classes];
        var support = new long[classes];
        long correct = 0, total = 0;
        for (int c = 0; c < classes; c++)
        {
            long predicted = 0;
            for (int r = 0; r < classes; r++) predicted += matrix[r][c];
            for (int p = 0; p < classes; p++) support[c] += matrix[c][p];
            long truePositives = matrix[c][c];
            precision[c] = predicted == 0 ? 0 : truePositives / (double)predicted;
            recall[c] = support[c] == 0 ? 0 : truePositives / (double)support[c];
            f1[c] = precision[c] + recall[c] == 0 ? 0 : 2 * precision[c] * recall[c] / (precision[c] + recall[c]);
            correct += truePositives;
            total += support[c];
        }
        Precision = precision.ToImmutableArray();
        Recall = recall.ToImmutableArray();
        F1 = f1.ToImmutableArray();
        Support = support.ToImmutableArray();
        Total = total;
        Accuracy = total == 0 ? 0 : correct / (double)total;
        double sum = 0;
        foreach (double value in f1) sum += value;
        MacroF1 = sum / classes;
    }

    /// <summary>Number of classes (rows and columns of the matrix).</summary>
    public int Classes => _matrix.Length;

    /// <summary>Examples counted.</summary>
    public long Total { get; }

    /// <summary>Fraction of examples whose prediction is their label: the trace of the matrix over <see cref="Total"/> (0 when empty).</summary>
    public double Accuracy { get; }

    /// <summary>Unweighted mean of <see cref="F1"/> over all classes, in [0, 1].</summary>
    public double MacroF1 { get; }

    /// <summary>Per class: correct predictions of the class over all predictions of it (0 when it was never predicted).</summary>
    public ImmutableArray<double> Precision { get; }

    /// <summary>Per class: correct predictions of the class over its examples (0 when it has none).</summary>
    public ImmutableArray<double> Recall { get; }

    /// <summary>Per class: harmonic mean of precision and recall (0 when both are 0).</summary>
    public ImmutableArray<double> F1 { get; }

    /// <summary>Per class: examples whose label is the class.</summary>
    public ImmutableArray<long> Support { get; }

    /// <summary>Examples with label <paramref name="label"/> that were predicted as <paramref name="predicted"/> (rows = labels, columns = predictions, as scikit-learn).</summary>
    public long this[int label, int predicted] => _matrix[label][predicted];

    /// <summary>
    /// Builds the report from parallel lists of labels and predictions.
    /// </summary>
    /// <param name="labels">The true class of each example, in [0, <paramref name="classes"/>).</param>
    /// <param name="predictions">The predicted class of each example, in [0, <paramref name="classes"/>).</param>
    /// <param name="classes">Number of classes; default one more than the largest label or prediction.</param>
    /// <exception cref="ArgumentException">The lists differ in length, a class is out of range, or there are no classes.</exception>
    public static ClassificationReport FromPredictions(IReadOnlyList<long> labels, IReadOnlyList<long> predictions, int? classes = null)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(predictions);
        if (labels.Count != predictions.Count)
            throw new ArgumentException($"{labels.Count} labels but {predictions.Count} predictions: expected one prediction per label.", nameof(predictions));
        long largest = -1;
        for (int i = 0; i < labels.Count; i++) largest = Math.Max(largest, Math.Max(labels[i], predictions[i]));
        int count = classes ?? (int)Math.Min(int.MaxValue, largest + 1);
        if (count < 1) throw new ArgumentException($"A classification report needs at least one class (classes = {count}).", nameof(classes));
        var matrix = new long[count][];
        for (int c = 0; c < count; c++) matrix[c] = new long[count];
        for (int i = 0; i < labels.Count; i++)
        {
            Check(labels[i], count, i, "label", nameof(labels));
            Check(predictions[i], count, i, "prediction", nameof(predictions));
            matrix[labels[i]][predictions[i]]++;
        }
        return new ClassificationReport(matrix);
    }

    /// <summary>The flat metrics under the names Hugging Face examples log: <c>accuracy</c> and <c>macro_f1</c>.</summary>
    public IReadOnlyDictionary<string, double> ToMetrics() =>
        new Dictionary<string, double>(StringComparer.Ordinal) { [MetricNames.Accuracy] = Accuracy, [MetricNames.MacroF1] = MacroF1 };

    private static void Check(long value, int classes, int index, string what, string parameter)
    {
        if (value < 0 || value >= classes)
            throw new ArgumentException($"The {what} at index {index} is {value}; expected a class in [0, {classes}).", parameter);
    }
}

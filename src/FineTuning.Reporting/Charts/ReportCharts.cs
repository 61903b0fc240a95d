using System;
using System.Collections.Generic;
using System.Linq;
using FineTuning.Training;

namespace FineTuning.Reporting.Charts;

/// <summary>
/// The charts of a run, from what <see cref="TrainingRun"/> holds: training loss (with the validation loss over it, so
/// a rising validation loss under a falling training loss is seen at once), learning rate, gradient norm, validation
/// loss, and one chart per named metric found in any evaluation (whatever evaluation code adds appears unchanged).
/// </summary>
internal static class ReportCharts
{
    public static IReadOnlyList<ChartSpec> For(TrainingRun run)
    {
        var charts = new List<ChartSpec>();
        IReadOnlyList<StepMetrics> history = run.History;
        IReadOnlyList<EvaluationMetrics> evaluations = run.Evaluations;
        double[] steps = history.Select(h => (double)h.Step).ToArray();
        double[] evalSteps = evaluations.Select(e => (double)e.Step).ToArray();
        ChartMarker[] warnings = run.Warnings.Select(w => new ChartMarker(w.Step, w.Code, IsWarning: true)).ToArray();
        ChartMarker[] best = run.BestEvaluation is { } b ? new[] { new ChartMarker(b.Step, "best (restored)", IsWarning: false) } : Array.Empty<ChartMarker>();

        if (history.Count > 0 || evaluations.Count > 0)
        {
            var lines = new List<ChartLine> { new("train loss", steps, history.Select(h => h.Loss).ToArray(), Markers: history.Count < 2) };
            if (evaluations.Count > 0) lines.Add(new ChartLine("validation loss", evalSteps, evaluations.Select(e => e.Loss).ToArray(), Markers: true));
            charts.Add(new ChartSpec("loss", "Loss", "loss", lines, best.Concat(warnings).ToArray()));
        }
        if (history.Count > 0)
        {
            charts.Add(Single("learning_rate", "Learning rate", "learning rate", steps, history.Select(h => h.LearningRate), false, Array.Empty<ChartMarker>()));
            charts.Add(Single("grad_norm", "Gradient norm (before clipping)", "L2 norm", steps, history.Select(h => h.GradientNorm), history.Count < 2, Array.Empty<ChartMarker>()));
        }
        if (evaluations.Count > 0)
            charts.Add(Single("eval_loss", "Validation loss", "loss", evalSteps, evaluations.Select(e => e.Loss), true, best));
        foreach (string metric in MetricNames(evaluations))
        {
            EvaluationMetrics[] having = evaluations.Where(e => e.Metrics.ContainsKey(metric)).ToArray();
            charts.Add(Single("eval_" + metric, Title(metric), metric, having.Select(e => (double)e.Step).ToArray(),
                having.Select(e => e.Metrics[metric]), true, best));
        }
        return charts;
    }

    /// <summary>A metric chart's title: general_perplexity is measured on the forgetting check's general text, every other metric on the validation set.</summary>
    private static string Title(string metric) => metric == FineTuning.Evaluation.MetricNames.GeneralPerplexity
        ? "General-text perplexity (forgetting check)"
        : "Validation " + metric;

    /// <summary>Every metric name seen in any evaluation, in ordinal order.</summary>
    public static IReadOnlyList<string> MetricNames(IEnumerable<EvaluationMetrics> evaluations) =>
        evaluations.SelectMany(e => e.Metrics.Keys).Distinct(StringComparer.Ordinal).OrderBy(n => n, StringComparer.Ordinal).ToArray();

    private static ChartSpec Single(string name, string title, string yLabel, double[] steps, IEnumerable<double> values, bool markers, IReadOnlyList<ChartMarker> marks) =>
        new(name, title, yLabel, new[] { new ChartLine(title, steps, values.ToArray(), markers) }, marks);
}

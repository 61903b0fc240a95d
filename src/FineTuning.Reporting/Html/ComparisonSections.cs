using System.Collections.Generic;
using System.Globalization;
using FineTuning.Evaluation;
using FineTuning.Training;

namespace FineTuning.Reporting.Html;

/// <summary>
/// The report sections that compare the run with a baseline: forgetting (general-text perplexity before and after,
/// <see cref="TrainingRun.Forgetting"/>) and the prompting baseline (<see cref="TrainingRun.PromptingBaseline"/>).
/// Each section is written only when the run measured it.
/// </summary>
internal static class ComparisonSections
{
    public static void Write(HtmlWriter html, TrainingRun run)
    {
        if (run.Forgetting is { } forgetting) Forgetting(html, forgetting);
        if (run.PromptingBaseline is { } baseline) Prompting(html, baseline);
    }

    private static void Forgetting(HtmlWriter html, ForgettingReport report)
    {
        html.Raw("<section id=\"forgetting\">\n").Element("h2", "Forgetting");
        html.Element("p", report.Forgot
            ? string.Create(CultureInfo.InvariantCulture, $"Perplexity on general text rose by more than the allowed {report.MaxRelativeIncrease:P0}: the model forgot some of what it knew.")
            : string.Create(CultureInfo.InvariantCulture, $"Perplexity on general text stayed within the allowed {report.MaxRelativeIncrease:P0} increase."),
            report.Forgot ? "problem" : "ok");
        var rows = new List<IReadOnlyList<string>>
        {
            new[] { "perplexity before", HtmlWriter.Number(report.BeforePerplexity) },
            new[] { "perplexity after", HtmlWriter.Number(report.AfterPerplexity) },
            new[] { "ratio (after / before)", HtmlWriter.Number(report.Ratio) },
            new[] { "relative increase", HtmlWriter.Number(report.RelativeIncrease) },
            new[] { "allowed relative increase", HtmlWriter.Number(report.MaxRelativeIncrease) },
            new[] { "tokens", report.Tokens.ToString(CultureInfo.InvariantCulture) },
            new[] { "before measured on", report.AdaptersDisabled ? "the model with adapters disabled" : "the model before the first step" },
        };
        html.Table(new[] { "figure", "value" }, rows);
        html.Raw("</section>\n");
    }

    private static void Prompting(HtmlWriter html, PromptingBaselineReport report)
    {
        html.Raw("<section id=\"prompting-baseline\">\n").Element("h2", "Prompting baseline");
        html.Element("p", string.Create(CultureInfo.InvariantCulture,
            $"The base model with {report.Shots}-shot prompts next to the fine-tuned model with plain prompts, scored the same way on the same set. Training took {report.TrainingTime.TotalSeconds:F1} s."));
        var rows = new List<IReadOnlyList<string>>();
        void Metric(string name, double? prompting, double? fineTuned)
        {
            if (prompting is null && fineTuned is null) return;
            rows.Add(new[] { name, Optional(prompting), Optional(fineTuned) });
        }
        Metric(MetricNames.ExactMatch, report.Prompting.ExactMatch, report.FineTuned.ExactMatch);
        Metric(MetricNames.Score, report.Prompting.Score, report.FineTuned.Score);
        Metric(MetricNames.FormatRate, report.Prompting.FormatRate, report.FineTuned.FormatRate);
        rows.Add(new[] { "generation time (s)", Seconds(report.Prompting.Elapsed.TotalSeconds), Seconds(report.FineTuned.Elapsed.TotalSeconds) });
        rows.Add(new[] { "peak memory (MiB)", Mebibytes(report.Prompting.PeakMemoryBytes), Mebibytes(report.FineTuned.PeakMemoryBytes) });
        rows.Add(new[] { "training time (s)", "none", Seconds(report.TrainingTime.TotalSeconds) });
        html.Table(new[] { "", string.Create(CultureInfo.InvariantCulture, $"prompting ({report.Shots}-shot)"), "fine-tuned" }, rows);
        html.Raw("</section>\n");
    }

    private static string Optional(double? value) => value is { } v ? HtmlWriter.Number(v) : "";

    private static string Seconds(double seconds) => seconds.ToString("F3", CultureInfo.InvariantCulture);

    private static string Mebibytes(long? bytes) => bytes is { } b ? (b / (1024.0 * 1024.0)).ToString("F1", CultureInfo.InvariantCulture) : "n/a";
}

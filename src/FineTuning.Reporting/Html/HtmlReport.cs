using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using FineTuning.Reporting.Charts;
using FineTuning.Training;

namespace FineTuning.Reporting.Html;

/// <summary>The self-contained report page: summary, warnings first, charts embedded as base64 PNG, evaluations, forgetting and prompting baseline, configuration, data.</summary>
internal static class HtmlReport
{
    private const string Style = """
        body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 960px; color: #222; }
        h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2em; margin-top: 1.6em; }
        table { border-collapse: collapse; margin: 0.5em 0; } th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: left; }
        th { background: #f4f4f4; } td { font-variant-numeric: tabular-nums; }
        .warnings { background: #fff4e0; border: 2px solid #e68c00; border-radius: 6px; padding: 0.6em 1em; }
        .warnings h2 { border: none; margin-top: 0.2em; color: #a35f00; }
        .ok { color: #2c7a2c; } .problem { color: #b02020; font-weight: bold; }
        figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #eee; } figcaption { color: #666; font-size: 0.9em; }
        pre { background: #f8f8f8; padding: 0.6em; overflow-x: auto; }
        """;

    public static string Build(TrainingRun run, IReadOnlyList<(ChartSpec Chart, byte[] Png)> charts, TrainingReportOptions options)
    {
        var html = new HtmlWriter();
        html.Raw("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>")
            .Raw(HtmlWriter.Encode(options.Title)).Raw("</title>\n<style>\n").Raw(Style).Raw("</style>\n</head>\n<body>\n");
        html.Element("h1", options.Title);
        html.Element("p", Summary(run));
        Warnings(html, run);
        html.Raw("<section id=\"charts\">\n").Element("h2", "Charts");
        if (charts.Count == 0) html.Element("p", "The run has no steps and no evaluations to chart.");
        foreach ((ChartSpec chart, byte[] png) in charts)
        {
            html.Raw($"<figure id=\"chart-{HtmlWriter.Encode(chart.Name)}\"><img src=\"data:image/png;base64,{Convert.ToBase64String(png)}\" alt=\"{HtmlWriter.Encode(chart.Title)}\" data-chart=\"{HtmlWriter.Encode(chart.Name)}\">")
                .Element("figcaption", $"{chart.Title} ({chart.Name}.png)").Raw("</figure>\n");
        }
        html.Raw("</section>\n");
        Evaluations(html, run);
        ComparisonSections.Write(html, run);
        html.Raw("<section id=\"configuration\">\n").Element("h2", "Configuration");
        html.Table(new[] { "option", "value" }, ConfigurationRows.For(run));
        html.Raw("</section>\n");
        if (options.DataReport is not null) DataReportSection.Write(html, options.DataReport);
        html.Raw("</body>\n</html>\n");
        return html.ToString();
    }

    private static string Summary(TrainingRun run)
    {
        string ending = run.Cancelled ? "cancelled" : run.StoppedEarly ? "stopped early" : "completed";
        string text = string.Create(CultureInfo.InvariantCulture,
            $"{run.StepsCompleted} of {run.TotalSteps} optimizer steps ({ending}) in {run.Elapsed.TotalSeconds:F1} s");
        if (run.FinalLoss is { } loss) text += ", final training loss " + HtmlWriter.Number(loss);
        if (run.Evaluations.Count > 0) text += ", last validation loss " + HtmlWriter.Number(run.Evaluations[^1].Loss);
        if (run.BestEvaluation is { } best)
            text += string.Create(CultureInfo.InvariantCulture, $"; the model holds the weights of the best evaluation (step {best.Step}, validation loss {HtmlWriter.Number(best.Loss)})");
        if (run.SkippedSteps > 0) text += string.Create(CultureInfo.InvariantCulture, $"; {run.SkippedSteps} steps skipped (non-finite loss)");
        return text + ".";
    }

    private static void Warnings(HtmlWriter html, TrainingRun run)
    {
        if (run.Warnings.Count == 0)
        {
            html.Raw("<section id=\"warnings\">\n").Element("p", "No warnings were raised during the run.", "ok").Raw("</section>\n");
            return;
        }
        html.Raw("<section id=\"warnings\" class=\"warnings\">\n")
            .Element("h2", run.Warnings.Count == 1 ? "1 warning" : $"{run.Warnings.Count} warnings");
        html.Table(new[] { "step", "warning", "what was seen" },
            run.Warnings.Select(w => (IReadOnlyList<string>)new[] { w.Step.ToString(CultureInfo.InvariantCulture), w.Code, w.Message }));
        html.Raw("</section>\n");
    }

    private static void Evaluations(HtmlWriter html, TrainingRun run)
    {
        if (run.Evaluations.Count == 0) return;
        IReadOnlyList<string> metrics = ReportCharts.MetricNames(run.Evaluations);
        html.Raw("<section id=\"evaluations\">\n").Element("h2", "Evaluations");
        var header = new List<string> { "step", "validation loss", "perplexity", "targets" };
        header.AddRange(metrics);
        html.Table(header, run.Evaluations.Select(e =>
        {
            var row = new List<string> { e.Step.ToString(CultureInfo.InvariantCulture), HtmlWriter.Number(e.Loss), HtmlWriter.Number(e.Perplexity), e.Targets.ToString(CultureInfo.InvariantCulture) };
            row.AddRange(metrics.Select(m => e.Metrics.TryGetValue(m, out double v) ? HtmlWriter.Number(v) : ""));
            if (run.BestEvaluation is { } best && best.Step == e.Step) row[0] += " (best, restored)";
            return (IReadOnlyList<string>)row;
        }));
        html.Raw("</section>\n");
    }
}

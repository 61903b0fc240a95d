using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using FineTuning.Data;
using FineTuning.Testing;
using FineTuning.Training;
using Xunit;

namespace FineTuning.Reporting.Tests;

public sealed partial class TrainingReportTests
{
    [GeneratedRegex("<img src=\"data:image/png;base64,([A-Za-z0-9+/=]+)\" alt=\"[^\"]*\" data-chart=\"([^\"]+)\">")]
    private static partial Regex ImgTag();

    [Fact]
    public void Write_RunWithNamedMetrics_HasOneEmbeddedChartPerSeriesMatchingItsPngFile()
    {
        using var folder = new TempDirectory("ft-report");
        using TrainingRun run = TinyRun.WithMetricsAndWarnings(TinyRun.Train());

        string page = run.WriteReport(folder.Path, new TrainingReportOptions { ChartWidth = 400, ChartHeight = 300 });

        Assert.Equal(Path.Combine(folder.Path, "report.html"), page);
        string html = File.ReadAllText(page);
        var images = ImgTag().Matches(html).Select(m => (Name: m.Groups[2].Value, Png: Convert.FromBase64String(m.Groups[1].Value))).ToList();
        Assert.Equal(new[] { "loss", "learning_rate", "grad_norm", "eval_loss", "eval_accuracy", "eval_mean_token_accuracy" }, images.Select(i => i.Name));
        Assert.Equal(images.Count, Regex.Matches(html, "<img ").Count);
        foreach ((string name, byte[] png) in images)
        {
            Assert.Equal(File.ReadAllBytes(Path.Combine(folder.Path, name + ".png")), png);
            PixelStats stats = PixelStats.Of(png);
            Assert.Equal((400, 300), (stats.Width, stats.Height));
            // A chart with axes, labels and a coloured line: far from one flat colour (a blank image has variance 0),
            // and with coloured pixels (axes, text and grid are grey; a 2-pixel line over 300 pixels is ~0.5 %).
            Assert.True(stats.LuminanceVariance > 0.005 && stats.NonWhiteFraction > 0.01 && stats.ColouredFraction > 0.001, $"{name}: {stats}");
        }
        Assert.Equal(6, Directory.GetFiles(folder.Path, "*.png").Length);
    }

    [Fact]
    public void Write_Warnings_AreListedBeforeTheChartsAndEncoded()
    {
        using var folder = new TempDirectory("ft-report");
        using TrainingRun run = TinyRun.WithMetricsAndWarnings(TinyRun.Train());

        string html = File.ReadAllText(run.WriteReport(folder.Path));

        int warnings = html.IndexOf("<section id=\"warnings\" class=\"warnings\">", StringComparison.Ordinal);
        Assert.True(warnings >= 0 && warnings < html.IndexOf("<section id=\"charts\">", StringComparison.Ordinal));
        Assert.Contains("<h2>2 warnings</h2>", html, StringComparison.Ordinal);
        Assert.Contains("rose for 2 evaluations &lt;while&gt; training loss fell.", html, StringComparison.Ordinal);
        Assert.Contains("<td>forgetting</td>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<while>", html, StringComparison.Ordinal);
    }

    [Fact]
    public void Write_NoWarnings_SaysSo()
    {
        using var folder = new TempDirectory("ft-report");
        using TrainingRun run = TinyRun.Train();

        string html = File.ReadAllText(TrainingReport.Write(run, folder.Path));

        Assert.Contains("No warnings were raised during the run.", html, StringComparison.Ordinal);
        // loss, learning rate, grad norm, validation loss, and one chart per named metric the evaluations carry (task
        // metrics such as train_loss and generalization_gap are measured by default).
        int metricSeries = run.Evaluations.SelectMany(e => e.Metrics.Keys).Distinct().Count();
        Assert.Equal(4 + metricSeries, ImgTag().Matches(html).Count);
    }

    [Fact]
    public void Write_Configuration_ListsTheRunsOptions()
    {
        using var folder = new TempDirectory("ft-report");
        using TrainingRun run = TinyRun.Train();

        string html = File.ReadAllText(run.WriteReport(folder.Path));

        Assert.Contains("<tr><td>LearningRate</td><td>0.05</td></tr>", html, StringComparison.Ordinal);
        Assert.Contains("<tr><td>MaxSteps</td><td>8</td></tr>", html, StringComparison.Ordinal);
        Assert.Contains("<tr><td>Adapters</td><td>none (full fine-tuning)</td></tr>", html, StringComparison.Ordinal);
        Assert.Contains("8 of 8 optimizer steps (completed)", html, StringComparison.Ordinal);
    }

    [Fact]
    public void Write_DataReport_HasADataSectionWithItsFigures()
    {
        using var folder = new TempDirectory("ft-report");
        using TrainingRun run = TinyRun.Train();
        var data = new DataValidationReport
        {
            Examples = 12, Messages = 24, TokenLengths = LengthDistribution.Of(new[] { 3, 5, 9 }), LearnedTokens = 40, MaxLength = 8,
            OverMaxLength = new[] { 2 }, ContextLength = null, OverContext = Array.Empty<int>(), ExactDuplicates = new[] { 4, 5 },
            WhitespaceDuplicates = Array.Empty<int>(), EmptyResponses = Array.Empty<int>(), BadRoleOrder = Array.Empty<int>(),
            NothingToLearn = Array.Empty<int>(), Unrenderable = Array.Empty<DroppedExample>(),
        };

        string html = File.ReadAllText(run.WriteReport(folder.Path, new TrainingReportOptions { DataReport = data }));

        Assert.Contains("<section id=\"data\">", html, StringComparison.Ordinal);
        Assert.Contains("<tr><td>exact duplicates</td><td>2</td></tr>", html, StringComparison.Ordinal);
        Assert.Contains("<tr><td>token length (min / median / p95 / max)</td><td>3 / 5 / 9 / 9</td></tr>", html, StringComparison.Ordinal);
        Assert.Contains("class=\"problem\"", html, StringComparison.Ordinal);
    }

    [Fact]
    public void Write_MetricNamesUnsafeAsFileNames_GetSafeDistinctFiles()
    {
        using var folder = new TempDirectory("ft-report");
        using TrainingRun run = TinyRun.Train(steps: 2);
        for (int i = 0; i < run.EvaluationList.Count; i++)
            run.EvaluationList[i] = run.EvaluationList[i] with { Metrics = new Dictionary<string, double> { ["f1/macro"] = 0.5, ["f1:macro"] = 0.25 } };

        string html = File.ReadAllText(run.WriteReport(folder.Path));

        Assert.True(File.Exists(Path.Combine(folder.Path, "eval_f1_macro.png")));
        Assert.True(File.Exists(Path.Combine(folder.Path, "eval_f1_macro_2.png")));
        Assert.Contains("Validation f1/macro", html, StringComparison.Ordinal);
    }

    [Fact]
    public void Write_GeneralPerplexity_ChartSaysItIsTheForgettingCheck()
    {
        using var folder = new TempDirectory("ft-report");
        using TrainingRun run = TinyRun.Train(steps: 2);
        for (int i = 0; i < run.EvaluationList.Count; i++)
            run.EvaluationList[i] = run.EvaluationList[i] with { Metrics = new Dictionary<string, double> { [FineTuning.Evaluation.MetricNames.GeneralPerplexity] = 8 + i, ["accuracy"] = 0.5 } };

        string html = File.ReadAllText(run.WriteReport(folder.Path));

        Assert.Contains("<figcaption>General-text perplexity (forgetting check) (eval_general_perplexity.png)</figcaption>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("Validation general_perplexity", html, StringComparison.Ordinal);
        Assert.Contains("<figcaption>Validation accuracy (eval_accuracy.png)</figcaption>", html, StringComparison.Ordinal);
    }

    [Fact]
    public void Write_BadChartSize_ThrowsNamingTheOption()
    {
        using var folder = new TempDirectory("ft-report");
        using TrainingRun run = TinyRun.Train(steps: 2);

        var e = Assert.Throws<ArgumentOutOfRangeException>(() => run.WriteReport(folder.Path, new TrainingReportOptions { ChartWidth = 10 }));
        Assert.Equal(nameof(TrainingReportOptions.ChartWidth), e.ParamName);
    }

    [Fact]
    public void WithReport_RunStoppedEarly_WritesTheReportAtTheEnd()
    {
        using var folder = new TempDirectory("ft-report");
        var callback = new ReportCallback(folder.Path);
        using TrainingRun run = TinyRun.Train(b => b
            .WithOptions(o => { o.EarlyStopping = new EarlyStopping { Patience = 1, MinDelta = 10 }; o.LoadBestAtEnd = true; })
            .WithCallback(callback), steps: 20);

        Assert.True(run.StoppedEarly);
        Assert.Equal(Path.Combine(folder.Path, "report.html"), callback.LastReportPath);
        string html = File.ReadAllText(callback.LastReportPath!);
        Assert.Contains($"{run.StepsCompleted} of 20 optimizer steps (stopped early)", html, StringComparison.Ordinal);
        Assert.Contains("(best, restored)", html, StringComparison.Ordinal);
    }

    [Fact]
    public void WithReport_Builder_AddsAReportCallback()
    {
        using var folder = new TempDirectory("ft-report");
        using TrainingRun run = TinyRun.Train(b => b.WithReport(folder.Path), steps: 2);

        Assert.True(File.Exists(Path.Combine(folder.Path, TrainingReport.FileName)));
        Assert.True(File.Exists(Path.Combine(folder.Path, "loss.png")));
    }
}

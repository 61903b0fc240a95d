using System;
using System.IO;
using FineTuning.Evaluation;
using FineTuning.Testing;
using FineTuning.Training;
using Xunit;

namespace FineTuning.Reporting.Tests;

public sealed class ComparisonSectionsTests
{
    [Fact]
    public void Write_RunWithForgetting_ShowsBeforeAfterRatioTokensAndBaseline()
    {
        using var folder = new TempDirectory("ft-report");
        using TrainingRun run = TinyRun.Train();
        run.Forgetting = new ForgettingReport(BeforePerplexity: 12.5, AfterPerplexity: 15, Tokens: 4321, AdaptersDisabled: true, MaxRelativeIncrease: 0.1);

        string html = File.ReadAllText(run.WriteReport(folder.Path));

        string section = Section(html, "forgetting");
        Assert.Contains("<h2>Forgetting</h2>", section, StringComparison.Ordinal);
        Assert.Contains("<td>perplexity before</td><td>12.5</td>", section, StringComparison.Ordinal);
        Assert.Contains("<td>perplexity after</td><td>15</td>", section, StringComparison.Ordinal);
        Assert.Contains("<td>ratio (after / before)</td><td>1.2</td>", section, StringComparison.Ordinal);
        Assert.Contains("<td>relative increase</td><td>0.2</td>", section, StringComparison.Ordinal);
        Assert.Contains("<td>tokens</td><td>4321</td>", section, StringComparison.Ordinal);
        Assert.Contains("<td>before measured on</td><td>the model with adapters disabled</td>", section, StringComparison.Ordinal);
        Assert.Contains("class=\"problem\"", section, StringComparison.Ordinal);
        Assert.DoesNotContain("id=\"prompting-baseline\"", html, StringComparison.Ordinal);
    }

    [Fact]
    public void Write_ForgettingWithinThresholdBeforeFirstStep_SaysSo()
    {
        using var folder = new TempDirectory("ft-report");
        using TrainingRun run = TinyRun.Train();
        run.Forgetting = new ForgettingReport(BeforePerplexity: 20, AfterPerplexity: 21, Tokens: 10, AdaptersDisabled: false, MaxRelativeIncrease: 0.1);

        string section = Section(File.ReadAllText(run.WriteReport(folder.Path)), "forgetting");

        Assert.Contains("<td>ratio (after / before)</td><td>1.05</td>", section, StringComparison.Ordinal);
        Assert.Contains("<td>before measured on</td><td>the model before the first step</td>", section, StringComparison.Ordinal);
        Assert.Contains("class=\"ok\"", section, StringComparison.Ordinal);
    }

    [Fact]
    public void Write_RunWithPromptingBaseline_ShowsBothColumnsTimesMemoryAndTrainingTime()
    {
        using var folder = new TempDirectory("ft-report");
        using TrainingRun run = TinyRun.Train();
        var prompting = new GenerationReport(Array.Empty<GeneratedOutput>(), ExactMatch: 0.25, Score: null, FormatRate: 0.5,
            TimeSpan.FromMilliseconds(1500), PeakMemoryBytes: 300L * 1024 * 1024);
        var fineTuned = new GenerationReport(Array.Empty<GeneratedOutput>(), ExactMatch: 0.75, Score: null, FormatRate: 1,
            TimeSpan.FromMilliseconds(250), PeakMemoryBytes: null);
        run.PromptingBaseline = new PromptingBaselineReport(3, prompting, fineTuned, TimeSpan.FromSeconds(42));

        string html = File.ReadAllText(run.WriteReport(folder.Path));

        string section = Section(html, "prompting-baseline");
        Assert.Contains("<h2>Prompting baseline</h2>", section, StringComparison.Ordinal);
        Assert.Contains("<th>prompting (3-shot)</th><th>fine-tuned</th>", section, StringComparison.Ordinal);
        Assert.Contains("<td>exact_match</td><td>0.25</td><td>0.75</td>", section, StringComparison.Ordinal);
        Assert.Contains("<td>format_rate</td><td>0.5</td><td>1</td>", section, StringComparison.Ordinal);
        Assert.DoesNotContain("<td>score</td>", section, StringComparison.Ordinal);
        Assert.Contains("<td>generation time (s)</td><td>1.500</td><td>0.250</td>", section, StringComparison.Ordinal);
        Assert.Contains("<td>peak memory (MiB)</td><td>300.0</td><td>n/a</td>", section, StringComparison.Ordinal);
        Assert.Contains("<td>training time (s)</td><td>none</td><td>42.000</td>", section, StringComparison.Ordinal);
        Assert.DoesNotContain("id=\"forgetting\"", html, StringComparison.Ordinal);
    }

    [Fact]
    public void Write_RunWithoutForgettingOrBaseline_HasNeitherSection()
    {
        using var folder = new TempDirectory("ft-report");
        using TrainingRun run = TinyRun.Train();

        string html = File.ReadAllText(run.WriteReport(folder.Path));

        Assert.DoesNotContain("id=\"forgetting\"", html, StringComparison.Ordinal);
        Assert.DoesNotContain("id=\"prompting-baseline\"", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<h2>Forgetting</h2>", html, StringComparison.Ordinal);
    }

    /// <summary>The text of the section with the given id, up to its closing tag.</summary>
    private static string Section(string html, string id)
    {
        int start = html.IndexOf($"<section id=\"{id}\">", StringComparison.Ordinal);
        Assert.True(start >= 0, $"no section {id}");
        int end = html.IndexOf("</section>", start, StringComparison.Ordinal);
        return html[start..end];
    }
}

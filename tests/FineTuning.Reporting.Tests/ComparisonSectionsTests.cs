using System;
using System.IO;
using System.Linq;
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
        AssertRow(section, "perplexity before", "12.5");
        AssertRow(section, "perplexity after", "15");
        AssertRow(section, "ratio (after / before)", "1.2");
        AssertRow(section, "relative increase", "0.2");
        AssertRow(section, "tokens", "4321");
        AssertRow(section, "before measured on", "the model with adapters disabled");
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

        AssertRow(section, "ratio (after / before)", "1.05");
        AssertRow(section, "before measured on", "the model before the first step");
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
        AssertRow(section, "exact_match", "0.25", "0.75");
        AssertRow(section, "format_rate", "0.5", "1");
        Assert.DoesNotContain("<td>score</td>", section, StringComparison.Ordinal);
        AssertRow(section, "generation time (s)", "1.500", "0.250");
        AssertRow(section, "peak memory (MiB)", "300.0", "n/a");
        AssertRow(section, "training time (s)", "none", "42.000");
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

    /// <summary>Asserts that the section has a table row with exactly these cells.</summary>
    private static void AssertRow(string section, params string[] cells) =>
        Assert.Contains("<tr>" + string.Concat(cells.Select(c => "<td>" + c + "</td>")) + "</tr>", section, StringComparison.Ordinal);

    /// <summary>The text of the section with the given id, up to its closing tag.</summary>
    private static string Section(string html, string id)
    {
        int start = html.IndexOf($"<section id=\"{id}\">", StringComparison.Ordinal);
        Assert.True(start >= 0, $"no section {id}");
        int end = html.IndexOf("</section>", start, StringComparison.Ordinal);
        return html[start..end];
    }
}

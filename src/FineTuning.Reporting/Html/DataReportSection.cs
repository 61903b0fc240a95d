using System.Collections.Generic;
using System.Globalization;
using FineTuning.Data;

namespace FineTuning.Reporting.Html;

/// <summary>The data report section: the key figures of a <see cref="DataValidationReport"/> and its own summary text.</summary>
internal static class DataReportSection
{
    public static void Write(HtmlWriter html, DataValidationReport report)
    {
        html.Raw("<section id=\"data\">\n").Element("h2", "Data");
        html.Element("p", report.IsClean ? "The training data passed every check." : "The training data has problems: see the counts below.", report.IsClean ? "ok" : "problem");
        LengthDistribution lengths = report.TokenLengths;
        string Count(int n) => n.ToString(CultureInfo.InvariantCulture);
        var rows = new List<IReadOnlyList<string>>
        {
            new[] { "examples", Count(report.Examples) },
            new[] { "messages", Count(report.Messages) },
            new[] { "learned tokens", report.LearnedTokens.ToString(CultureInfo.InvariantCulture) },
            new[] { "token length (min / median / p95 / max)", string.Create(CultureInfo.InvariantCulture, $"{lengths.Min} / {lengths.Median} / {lengths.P95} / {lengths.Max}") },
            new[] { "over max length", Count(report.OverMaxLength.Count) },
            new[] { "over context", Count(report.OverContext.Count) },
            new[] { "exact duplicates", Count(report.ExactDuplicates.Count) },
            new[] { "duplicates up to whitespace", Count(report.WhitespaceDuplicates.Count) },
            new[] { "empty responses", Count(report.EmptyResponses.Count) },
            new[] { "bad role order", Count(report.BadRoleOrder.Count) },
            new[] { "nothing to learn", Count(report.NothingToLearn.Count) },
            new[] { "unrenderable", Count(report.Unrenderable.Count) },
        };
        html.Table(new[] { "check", "value" }, rows);
        html.Element("pre", report.ToString());
        html.Raw("</section>\n");
    }
}

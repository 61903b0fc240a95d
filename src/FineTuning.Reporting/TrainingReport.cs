using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using FineTuning.Reporting.Charts;
using FineTuning.Reporting.Html;
using FineTuning.Training;

namespace FineTuning.Reporting;

/// <summary>
/// Writes a run's report into a folder: <c>report.html</c>, a self-contained page (charts embedded as base64 PNG, the
/// warnings listed first, the evaluations, forgetting and the prompting baseline when measured, the configuration and,
/// when given, the data report) and the charts as PNG
/// files (<c>loss.png</c>, <c>learning_rate.png</c>, <c>grad_norm.png</c>, <c>eval_loss.png</c>, and
/// <c>eval_&lt;metric&gt;.png</c> for every named metric the evaluations hold). Everything comes from the
/// <see cref="TrainingRun"/>, so it can be written at the end of a run (<c>WithReport</c>) or at any time later
/// (<c>run.WriteReport(folder)</c>). See docs/reporting.md.
/// </summary>
public static class TrainingReport
{
    /// <summary>The report page's file name.</summary>
    public const string FileName = "report.html";

    /// <summary>Writes the report of <paramref name="run"/> into <paramref name="folder"/> (created when missing; files of the same names are replaced).</summary>
    /// <returns>The full path of <c>report.html</c>.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A chart size in <paramref name="options"/> is out of range.</exception>
    public static string Write(TrainingRun run, string folder, TrainingReportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        TrainingReportOptions settings = (options ?? new TrainingReportOptions()).Clone();
        settings.Validate();
        string full = Path.GetFullPath(folder);
        Directory.CreateDirectory(full);
        var charts = new List<(ChartSpec, byte[])>();
        var usedNames = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (ChartSpec chart in ReportCharts.For(run))
        {
            string name = UniqueName(FileStem(chart.Name), usedNames);
            byte[] png = ChartRenderer.Png(chart, settings.ChartWidth, settings.ChartHeight);
            File.WriteAllBytes(Path.Combine(full, name + ".png"), png);
            charts.Add((chart with { Name = name }, png));
        }
        string page = Path.Combine(full, FileName);
        File.WriteAllText(page, HtmlReport.Build(run, charts, settings), new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        return page;
    }

    /// <summary>A metric name made safe as a file name on every OS (letters, digits, '_', '-', '.').</summary>
    private static string FileStem(string name)
    {
        string stem = new(name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.' ? c : '_').ToArray());
        return stem.Trim('.').Length == 0 ? "metric" : stem;
    }

    private static string UniqueName(string stem, HashSet<string> used)
    {
        string name = stem;
        for (int i = 2; !used.Add(name); i++) name = stem + "_" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return name;
    }
}

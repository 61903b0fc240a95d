using FineTuning.Training;

namespace FineTuning.Reporting;

/// <summary>Writes the report of a finished (or running) <see cref="TrainingRun"/> on demand.</summary>
public static class TrainingRunReportExtensions
{
    /// <summary>Writes <c>report.html</c> and the PNG charts of <paramref name="run"/> into <paramref name="folder"/>; see <see cref="TrainingReport.Write"/>.</summary>
    /// <returns>The full path of <c>report.html</c>.</returns>
    public static string WriteReport(this TrainingRun run, string folder, TrainingReportOptions? options = null) =>
        TrainingReport.Write(run, folder, options);
}

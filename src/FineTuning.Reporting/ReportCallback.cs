using System;
using FineTuning.Training;

namespace FineTuning.Reporting;

/// <summary>A training callback that writes the run's report into a folder when the run ends (what <c>WithReport</c> adds).</summary>
public sealed class ReportCallback : ITrainingCallback
{
    private readonly string _folder;
    private readonly TrainingReportOptions? _options;

    /// <summary>Writes into <paramref name="folder"/> with <paramref name="options"/> (copied when the report is written).</summary>
    public ReportCallback(string folder, TrainingReportOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        _folder = folder;
        _options = options?.Clone();
    }

    /// <summary>The full path of the last <c>report.html</c> written, or null before the first run ended.</summary>
    public string? LastReportPath { get; private set; }

    /// <inheritdoc />
    public void OnTrainEnd(TrainingRun run) => LastReportPath = TrainingReport.Write(run, _folder, _options);
}

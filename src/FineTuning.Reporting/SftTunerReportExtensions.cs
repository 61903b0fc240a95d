using System;
using FineTuning.Sft;

namespace FineTuning.Reporting;

/// <summary>Adds the training report to a one-call SFT run: <c>FineTuner.ForSft(model, tokenizer).WithReport("out/report")</c>.</summary>
public static class SftTunerReportExtensions
{
    /// <summary>
    /// Returns an SFT builder whose run writes its report (<c>report.html</c> and the PNG charts, see
    /// <see cref="TrainingReport.Write"/>) into <paramref name="folder"/> when it ends, as
    /// <see cref="FineTunerReportExtensions.WithReport{TExample}"/> does for <c>FineTuner.For</c>; the SFT warnings
    /// (<c>untrained_token</c>) are in it. The SFT data report is not known before the run reads the file: to put it in the
    /// page, write the report after the run instead: <c>run.Training.WriteReport(folder, new() { DataReport = run.DataReport })</c>.
    /// </summary>
    public static SftTuner WithReport(this SftTuner builder, string folder, TrainingReportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        return builder.WithCallback(new ReportCallback(folder, options));
    }
}

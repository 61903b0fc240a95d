using System;
using FineTuning.Training;

namespace FineTuning.Reporting;

/// <summary>Adds the training report to a run: <c>FineTuner.For(model).WithReport("out/report")</c>.</summary>
public static class FineTunerReportExtensions
{
    /// <summary>
    /// Returns a builder whose run writes its report (<c>report.html</c> and the PNG charts, see
    /// <see cref="TrainingReport.Write"/>) into <paramref name="folder"/> when it ends: normally, early or by cancellation.
    /// The page is <c>report.html</c> inside the folder; to get its path from code, add a <see cref="ReportCallback"/>
    /// with <c>WithCallback</c> instead and read its <see cref="ReportCallback.LastReportPath"/>.
    /// </summary>
    public static FineTuner<TExample> WithReport<TExample>(this FineTuner<TExample> builder, string folder, TrainingReportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        return builder.WithCallback(new ReportCallback(folder, options));
    }
}

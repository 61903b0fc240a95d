using System;
using System.IO;
using FineTuning.Monitoring;
using FineTuning.Training;
using Xunit;

namespace FineTuning.Core.Tests.Monitoring;

public sealed class ConsoleProgressBarTests
{
    private static TrainingProgress At(long step, long total = 40) =>
        new(step, total, (int)((step - 1) / 10) + 1, 2.0 / step, 1e-3, TimeSpan.FromSeconds(step * 0.5));

    [Fact]
    public void Format_HalfWay_DrawsHalfTheBarAndTheFigures()
    {
        Assert.Equal("[###############...............] step 20/40  epoch 2  loss 0.1000  lr 1.00E-003  eta 10s", ConsoleProgressBar.Format(At(20)));
        Assert.Equal("[..............................] step 0/40  epoch 0  loss 0.0000  lr 0.00E+000  eta 0s", ConsoleProgressBar.Format(new TrainingProgress(0, 40, 0, 0, 0, TimeSpan.Zero)));
        Assert.EndsWith("eta 1:30", ConsoleProgressBar.Format(new TrainingProgress(10, 40, 1, 1, 1, TimeSpan.FromSeconds(30))), StringComparison.Ordinal);
    }

    [Fact]
    public void Report_NotInteractive_WritesALineEveryTwentiethOfTheRunAndTheLast()
    {
        var output = new StringWriter { NewLine = "\n" };
        using (var bar = new ConsoleProgressBar(output, interactive: false))
        {
            for (long step = 1; step <= 46; step++) bar.Report(At(step, 46));
        }

        // 46 steps: a line every ceil(46 / 20) = 3 steps (steps 3..45: 15 lines) plus the last step; no carriage returns.
        string[] lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(16, lines.Length);
        Assert.Contains("step 3/46 ", lines[0], StringComparison.Ordinal);
        Assert.Contains("step 46/46 ", lines[^1], StringComparison.Ordinal);
        Assert.DoesNotContain('\r', output.ToString());
    }

    [Fact]
    public void Report_Interactive_RedrawsInPlaceBlankingTheLongerLineAndEndsWithANewline()
    {
        var output = new StringWriter { NewLine = "\n" };
        using (var bar = new ConsoleProgressBar(output, interactive: true) { RedrawInterval = TimeSpan.Zero })
        {
            bar.Report(new TrainingProgress(1, 2, 1, 10.5, 1e-3, TimeSpan.FromSeconds(100)));
            bar.Report(new TrainingProgress(2, 2, 1, 1.5, 1e-3, TimeSpan.FromSeconds(1)));
        }

        string first = ConsoleProgressBar.Format(new TrainingProgress(1, 2, 1, 10.5, 1e-3, TimeSpan.FromSeconds(100)));
        string second = ConsoleProgressBar.Format(new TrainingProgress(2, 2, 1, 1.5, 1e-3, TimeSpan.FromSeconds(1)));
        Assert.True(first.Length > second.Length);
        Assert.Equal("\r" + first + "\r" + second + new string(' ', first.Length - second.Length) + "\n", output.ToString());
    }

    [Fact]
    public void Report_InteractiveWithinTheRedrawInterval_SkipsAllButTheFirstAndTheLast()
    {
        var output = new StringWriter();
        var bar = new ConsoleProgressBar(output, interactive: true) { RedrawInterval = TimeSpan.FromHours(1) };
        for (long step = 1; step <= 10; step++) bar.Report(At(step, 10));

        Assert.Equal(2, output.ToString().Split('\r', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Contains("step 10/10 ", output.ToString(), StringComparison.Ordinal);
    }
}

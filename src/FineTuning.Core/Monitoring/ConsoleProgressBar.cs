using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using FineTuning.Training;

namespace FineTuning.Monitoring;

/// <summary>
/// A one-line training progress bar for console apps: <c>WithProgress(new ConsoleProgressBar())</c>. On a terminal it
/// redraws the line in place (carriage return) at most every <see cref="RedrawInterval"/>; when the output is a file or
/// a pipe it writes plain lines, one every <see cref="LineEverySteps"/> steps (about 20 per run by default) and one for
/// the last step, so logs stay readable. Synchronous: it never lags behind the run. Call <see cref="Dispose"/> (or
/// <see cref="Finish"/>) after training to end the line.
/// </summary>
/// <example><c>[############..................] step 40/100  epoch 2  loss 1.2345  lr 2.00E-004  eta 12s</c></example>
public sealed class ConsoleProgressBar : IProgress<TrainingProgress>, IDisposable
{
    private const int BarWidth = 30;
    private readonly TextWriter _output;
    private readonly Stopwatch _sinceRedraw = new();
    private int _drawnLength;

    /// <summary>Draws on <paramref name="output"/> (default <see cref="Console.Out"/>).</summary>
    /// <param name="output">Where to write.</param>
    /// <param name="interactive">Redraw in place (true) or write lines (false); default: true when writing to
    /// <see cref="Console.Out"/> and the console output is not redirected.</param>
    public ConsoleProgressBar(TextWriter? output = null, bool? interactive = null)
    {
        _output = output ?? Console.Out;
        Interactive = interactive ?? ((output is null || ReferenceEquals(output, Console.Out)) && !Console.IsOutputRedirected);
    }

    /// <summary>Whether the line is redrawn in place.</summary>
    public bool Interactive { get; }

    /// <summary>In interactive mode, the shortest time between two redraws (the last step is always drawn). Default 100 ms.</summary>
    public TimeSpan RedrawInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>In line mode, write a line every this many steps; 0 (default) picks about 20 lines per run.</summary>
    public int LineEverySteps { get; init; }

    /// <inheritdoc />
    public void Report(TrainingProgress value)
    {
        bool last = value.Step >= value.TotalSteps;
        if (Interactive)
        {
            if (!last && _sinceRedraw.IsRunning && _sinceRedraw.Elapsed < RedrawInterval) return;
            string line = Format(value);
            _output.Write("\r" + line + new string(' ', Math.Max(0, _drawnLength - line.Length)));
            _drawnLength = line.Length;
            _sinceRedraw.Restart();
        }
        else
        {
            long every = LineEverySteps > 0 ? LineEverySteps : Math.Max(1, (value.TotalSteps + 19) / 20);
            if (!last && value.Step % every != 0) return;
            _output.WriteLine(Format(value));
        }
        _output.Flush();
    }

    /// <summary>Ends the redrawn line (interactive mode) so that what is printed next starts on a new line.</summary>
    public void Finish()
    {
        if (_drawnLength == 0) return;
        _output.WriteLine();
        _output.Flush();
        _drawnLength = 0;
    }

    /// <inheritdoc />
    public void Dispose() => Finish();

    /// <summary>The text of one progress line (no carriage return, no newline).</summary>
    public static string Format(TrainingProgress value)
    {
        int filled = (int)Math.Round(Math.Clamp(value.Fraction, 0, 1) * BarWidth, MidpointRounding.ToZero);
        string bar = new string('#', filled) + new string('.', BarWidth - filled);
        return string.Create(CultureInfo.InvariantCulture,
            $"[{bar}] step {value.Step}/{value.TotalSteps}  epoch {value.Epoch}  loss {value.Loss:F4}  lr {value.LearningRate:E2}  eta {Seconds(value.Remaining)}");
    }

    private static string Seconds(TimeSpan time) =>
        time.TotalSeconds < 60
            ? time.TotalSeconds.ToString("F0", CultureInfo.InvariantCulture) + "s"
            : time.ToString(time.TotalHours >= 1 ? @"h\:mm\:ss" : @"m\:ss", CultureInfo.InvariantCulture);
}

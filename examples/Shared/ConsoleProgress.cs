using System;
using FineTuning.Training;

namespace FineTuning.Examples;

/// <summary>A one-line progress bar, redrawn in place; synchronous so it never lags behind the run.</summary>
internal sealed class ConsoleProgress(Action<TrainingProgress>? onStep = null) : IProgress<TrainingProgress>
{
    private const int Width = 30;
    private bool _drawn;

    public void Report(TrainingProgress value)
    {
        onStep?.Invoke(value);
        if (value.Step % 10 != 0 && value.Step != value.TotalSteps) return;
        int filled = (int)(value.Fraction * Width);
        string bar = new string('#', filled) + new string('.', Width - filled);
        string line = $"[{bar}] step {value.Step}/{value.TotalSteps}  epoch {value.Epoch}  loss {value.Loss:F4}  lr {value.LearningRate:E2}  eta {value.Remaining.TotalSeconds:F0}s";
        if (Console.IsOutputRedirected)
        {
            if (value.Step % 50 == 0 || value.Step == value.TotalSteps) Console.WriteLine(line);
            return;
        }
        Console.Write("\r" + line.PadRight(Console.WindowWidth > 0 ? Math.Min(Console.WindowWidth - 1, 120) : 100));
        _drawn = true;
    }

    public void Finish()
    {
        if (_drawn) Console.WriteLine();
    }
}

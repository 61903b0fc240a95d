using System.Collections.Generic;
using System.Linq;
using FineTuning.Training;

namespace FineTuning.Examples.QLoRAComparison;

/// <summary>Step timing from the trainer's own per-step history (<see cref="StepMetrics.Duration"/>).</summary>
internal static class StepTimes
{
    /// <summary>Steps left out of the median: the first steps allocate optimizer state and warm up libtorch's kernels.</summary>
    public const int WarmupSteps = 3;

    /// <summary>Fills the timing fields of a result from a finished run.</summary>
    public static ConfigResult Add(ConfigResult result, TrainingRun run)
    {
        List<double> times = run.History.Skip(run.History.Count > WarmupSteps ? WarmupSteps : 0)
            .Select(s => s.Duration.TotalMilliseconds).Order().ToList();
        double? median = times.Count == 0 ? null
            : times.Count % 2 == 1 ? times[times.Count / 2] : (times[times.Count / 2 - 1] + times[times.Count / 2]) / 2;
        return result with
        {
            MedianStepMs = median,
            MeasuredSteps = times.Count,
            Steps = run.StepsCompleted,
            TrainSeconds = run.Elapsed.TotalSeconds,
            FirstLoss = run.History.Count > 0 ? run.History[0].Loss : null,
            FinalLoss = run.FinalLoss,
        };
    }
}

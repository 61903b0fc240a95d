namespace FineTuning.Examples.QLoRAComparison;

/// <summary>What one child process measured; serialized as JSON on the child's <c>RESULT </c> line.</summary>
internal sealed record ConfigResult
{
    public const string LinePrefix = "RESULT ";

    public required string Task { get; init; }

    public required string Config { get; init; }

    /// <summary>Why the configuration failed ("ExceptionType: message"), or null.</summary>
    public string? Error { get; init; }

    /// <summary>The task's quality figure, formatted by the task.</summary>
    public string? Quality { get; init; }

    /// <summary>Parameter and buffer bytes of the final model per pretrained parameter.</summary>
    public double? WeightBytesPerParameter { get; init; }

    /// <summary>Peak resident memory of the child process (VmHWM); null where /proc is not available.</summary>
    public long? PeakRssBytes { get; init; }

    /// <summary>Peak resident memory of each phase (load, train, evaluate), when the high-water mark could be reset.</summary>
    public System.Collections.Generic.Dictionary<string, long>? PhasePeakBytes { get; init; }

    /// <summary>Median wall time of the optimizer steps after the warm-up steps.</summary>
    public double? MedianStepMs { get; init; }

    /// <summary>Steps the median was taken over.</summary>
    public int MeasuredSteps { get; init; }

    /// <summary>Optimizer steps applied.</summary>
    public long Steps { get; init; }

    /// <summary>Wall time of <c>Train</c> (the trainer's <c>TrainingRun.Elapsed</c>).</summary>
    public double? TrainSeconds { get; init; }

    public double? FirstLoss { get; init; }

    public double? FinalLoss { get; init; }

    public long PretrainedParameters { get; init; }

    /// <summary>The run's HTML report (report.html), or null for load-only and failed configurations.</summary>
    public string? ReportPath { get; init; }
}

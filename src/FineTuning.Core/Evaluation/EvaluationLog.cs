using Microsoft.Extensions.Logging;

namespace FineTuning.Evaluation;

/// <summary>Structured log messages of the run's evaluation (event ids 40-49, apart from the trainer's).</summary>
internal static partial class EvaluationLog
{
    [LoggerMessage(EventId = 40, Level = LogLevel.Information, Message = "Task metrics at step {Step}: {Metrics}")]
    public static partial void TaskMetrics(ILogger logger, long step, string metrics);

    [LoggerMessage(EventId = 41, Level = LogLevel.Warning, Message = "{Code} at step {Step}: {Message}")]
    public static partial void Warning(ILogger logger, string code, long step, string message);

    [LoggerMessage(EventId = 42, Level = LogLevel.Information,
        Message = "General-text perplexity {Before:F3} before ({Baseline}), {After:F3} after: ratio {Ratio:F3}")]
    public static partial void Forgetting(ILogger logger, double before, string baseline, double after, double ratio);

    [LoggerMessage(EventId = 43, Level = LogLevel.Information,
        Message = "Prompting baseline ({Shots}-shot base model): {Prompting} in {PromptingTime}; fine-tuned: {FineTuned} in {FineTunedTime}")]
    public static partial void PromptingBaseline(ILogger logger, int shots, string prompting, System.TimeSpan promptingTime, string fineTuned, System.TimeSpan fineTunedTime);

    [LoggerMessage(EventId = 44, Level = LogLevel.Warning, Message = "{What} was not measured: {Reason}")]
    public static partial void NotMeasured(ILogger logger, string what, string reason);
}

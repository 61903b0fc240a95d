using Microsoft.Extensions.Logging;

namespace FineTuning.Training;

/// <summary>Structured log messages of the trainer.</summary>
internal static partial class TrainerLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information,
        Message = "Training {Parameters} trainable parameters of {AllParameters} for {TotalSteps} steps ({Examples} examples, batch {BatchSize} x {Accumulation} accumulation, {DType})")]
    public static partial void RunStarting(ILogger logger, long parameters, long allParameters, long totalSteps, int examples, int batchSize, int accumulation, string dtype);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information,
        Message = "Step {Step}/{TotalSteps} epoch {Epoch}: loss {Loss:F4}, lr {LearningRate:G4}, grad norm {GradientNorm:F3}")]
    public static partial void StepDone(ILogger logger, long step, long totalSteps, int epoch, double loss, double learningRate, double gradientNorm);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning,
        Message = "Step {Step}: the {What} is {Value}; the step was skipped")]
    public static partial void StepSkipped(ILogger logger, long step, string what, double value);

    [LoggerMessage(EventId = 4, Level = LogLevel.Information,
        Message = "Training cancelled after {Steps} of {TotalSteps} steps")]
    public static partial void Cancelled(ILogger logger, long steps, long totalSteps);

    [LoggerMessage(EventId = 5, Level = LogLevel.Information,
        Message = "Validation at step {Step}: loss {Loss:F4} over {Targets} targets")]
    public static partial void Evaluated(ILogger logger, long step, double loss, long targets);

    [LoggerMessage(EventId = 6, Level = LogLevel.Information,
        Message = "Training finished: {Steps} steps in {Elapsed}")]
    public static partial void Finished(ILogger logger, long steps, System.TimeSpan elapsed);

    [LoggerMessage(EventId = 8, Level = LogLevel.Information, Message = "Resumed from {Folder} at step {Step}")]
    public static partial void Resumed(ILogger logger, string folder, long step);

    [LoggerMessage(EventId = 9, Level = LogLevel.Information, Message = "Saved checkpoint {Folder} at step {Step}")]
    public static partial void CheckpointSaved(ILogger logger, string folder, long step);

    /// <summary>The <see cref="TrainingWarning.Code"/> of the emulated-bf16 warning.</summary>
    public const string EmulatedBFloat16Code = "emulated_bf16";

    /// <summary>The emulated-bf16 warning, in the log and in <see cref="TrainingRun.Warnings"/>.</summary>
    public const string EmulatedBFloat16Message =
        "Training in bf16 on a CPU without native bf16 instructions (no avx512_bf16 or AMX): bf16 matrix products are emulated here, about 60x slower than fp32. Use ParameterDType = Float32 (or DTypePolicy.Auto) on this machine.";

    [LoggerMessage(EventId = 10, Level = LogLevel.Warning, Message = EmulatedBFloat16Code + " at step {Step}: " + EmulatedBFloat16Message)]
    public static partial void EmulatedBFloat16(ILogger logger, long step);

    [LoggerMessage(EventId = 11, Level = LogLevel.Information,
        Message = "Stopped early after step {Step}: the validation metric did not improve for {Patience} evaluations")]
    public static partial void StoppedEarly(ILogger logger, long step, int patience);

    [LoggerMessage(EventId = 12, Level = LogLevel.Information,
        Message = "Restored the weights of the best evaluation (step {Step}, validation loss {Loss:F4})")]
    public static partial void RestoredBest(ILogger logger, long step, double loss);

    [LoggerMessage(EventId = 7, Level = LogLevel.Debug,
        Message = "Set the glibc malloc mmap threshold to {Bytes} bytes (TuneNativeAllocator: lower peak memory, slower steps)")]
    public static partial void AllocatorTuned(ILogger logger, int bytes);

    [LoggerMessage(EventId = 14, Level = LogLevel.Information,
        Message = "Running on {Threads} CPU threads per operation (TrainingOptions.Threads; {Before} before the run, restored after it)")]
    public static partial void ThreadsSet(ILogger logger, int threads, int before);

    [LoggerMessage(EventId = 13, Level = LogLevel.Information,
        Message = "DTypePolicy.Auto chose {DType} parameters on {Device}")]
    public static partial void AutoDType(ILogger logger, string dtype, string device);
}

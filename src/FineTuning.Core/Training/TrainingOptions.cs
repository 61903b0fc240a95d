using System;
using System.Collections.Generic;
using TorchSharp;

namespace FineTuning.Training;

/// <summary>
/// How a run trains. Plain settable options (the builder copies them when they are passed in);
/// every problem is reported at once when the run is built, never silently corrected.
/// Defaults follow Hugging Face's <c>TrainingArguments</c> where a Python user would expect them.
/// </summary>
public sealed class TrainingOptions
{
    /// <summary>Passes over the training data. Ignored when <see cref="MaxSteps"/> is set. Default 1.</summary>
    public int Epochs { get; set; } = 1;

    /// <summary>Optimizer steps to run in total; when set, overrides <see cref="Epochs"/> (data is cycled). Default none.</summary>
    public long? MaxSteps { get; set; }

    /// <summary>Examples per micro-batch (one forward/backward). Default 8.</summary>
    public int BatchSize { get; set; } = 8;

    /// <summary>
    /// Micro-batches per optimizer step. The loss of the step is normalised by the number of targets in all of
    /// them together, so the gradient equals that of one batch of <c>BatchSize * GradientAccumulationSteps</c>. Default 1.
    /// </summary>
    public int GradientAccumulationSteps { get; set; } = 1;

    /// <summary>Peak learning rate. Default 5e-5 (as Hugging Face's Trainer).</summary>
    public double LearningRate { get; set; } = 5e-5;

    /// <summary>The optimizer. Default <see cref="AdamWOptimizer"/> with no weight decay.</summary>
    public IOptimizer Optimizer { get; set; } = new AdamWOptimizer();

    /// <summary>The learning-rate schedule after warmup. Default <see cref="LinearSchedule"/> (decay to 0).</summary>
    public ILearningRateSchedule Schedule { get; set; } = new LinearSchedule();

    /// <summary>Linear warmup steps from 0 to <see cref="LearningRate"/>. Default 0. Wins over <see cref="WarmupRatio"/>.</summary>
    public long WarmupSteps { get; set; }

    /// <summary>Warmup as a fraction of the total steps, in [0, 1). Used when <see cref="WarmupSteps"/> is 0.</summary>
    public double WarmupRatio { get; set; }

    /// <summary>Clip the global gradient norm to this value; null turns clipping off. Default 1.0.</summary>
    public double? MaxGradNorm { get; set; } = 1.0;

    /// <summary>Parameter dtype: <see cref="torch.ScalarType.Float32"/> (default), <see cref="torch.ScalarType.BFloat16"/>
    /// (half the weight memory; the optimizer then keeps fp32 master weights) or <see cref="torch.ScalarType.Float64"/>
    /// (for numerical checks: rounding ~1e-16 instead of ~1e-7, several times slower). Whether bf16 is faster depends on
    /// the CPU: a full training step was 1.6x slower in bf16 on our 2-core Xeon VM (docs/benchmarks/training-step.md),
    /// bf16 matmuls were measured 2-3x faster on a Zen 4 machine, and on CPUs without native bf16 instructions
    /// (no avx512_bf16 / AMX, e.g. AVX2-only machines) bf16 matrix products are emulated and about 60x slower than
    /// fp32: the trainer logs a warning there (<see cref="CpuFeatures.HasNativeBFloat16"/>). Measure on yours.</summary>
    public torch.ScalarType ParameterDType { get; set; } = torch.ScalarType.Float32;

    /// <summary>
    /// How the parameter dtype is chosen. <see cref="DTypePolicy.AsSet"/> (default): <see cref="ParameterDType"/>.
    /// <see cref="DTypePolicy.Auto"/>: BFloat16 on a CPU with native bf16 instructions (<see cref="CpuFeatures.HasNativeBFloat16"/>),
    /// Float32 everywhere else (CPUs without them, CPUs that cannot be told, CUDA for now). The choice is logged; the
    /// measured step times per CPU kind are in docs/training.md.
    /// </summary>
    public DTypePolicy DTypePolicy { get; set; }

    /// <summary>Device to train on. Default CPU. CUDA needs a CUDA TorchSharp backend chosen by the application.</summary>
    public string Device { get; set; } = "cpu";

    /// <summary>Seed of the data order (shuffling). Two runs with the same seed, model and data give the same loss curve.
    /// Dropout draws from TorchSharp's global generator, which the application seeds; library code never does.</summary>
    public int Seed { get; set; } = 42;

    /// <summary>Shuffle the training examples each epoch (seeded by <see cref="Seed"/>). Default true.</summary>
    public bool Shuffle { get; set; } = true;

    /// <summary>What to do when a loss or gradient norm is NaN or infinite. Default <see cref="NonFiniteLossPolicy.Throw"/>.</summary>
    public NonFiniteLossPolicy NonFiniteLoss { get; set; } = NonFiniteLossPolicy.Throw;

    /// <summary>Log a line every this many optimizer steps (0 = never). Default 10.</summary>
    public int LogEverySteps { get; set; } = 10;

    /// <summary>Evaluate the validation set every this many steps (0 = at the end of each epoch and of the run). Default 0.</summary>
    public int EvaluateEverySteps { get; set; }

    /// <summary>
    /// Low-memory opt-in. On Linux/glibc, lower the malloc mmap threshold to <see cref="NativeAllocatorMmapThreshold"/>
    /// (4 MiB unless set) for the process (mallopt), so every buffer of that size or more is mapped fresh and unmapped
    /// when freed. It lowers the peak resident memory (LLaMA LoRA step in issue #17: 1.2 GB instead of 2.0 GB) but every
    /// such activation then gets new pages the kernel must zero, which made steps 1.4-1.6x slower there
    /// (docs/training.md#memory has the table). Default false: glibc's own threshold.
    /// </summary>
    public bool TuneNativeAllocator { get; set; }

    /// <summary>
    /// The mmap threshold in bytes that <see cref="TuneNativeAllocator"/> sets, from 64 KiB to 32 MiB. Default 4 MiB.
    /// A smaller threshold keeps more buffers out of glibc's heap, whose holes freed tensors of the same size cannot reuse
    /// (docs/benchmarks/hot-paths.md); it pays off where the buffers are few and small next to the weights, as in QLoRA at
    /// batch 1 x 256 (1 MiB on the 374M model of docs/benchmarks/qlora-memory.md, quantized by <c>WithQLoRA</c>: steps
    /// peaking at 963-1,036 instead of 1,235-1,419 MiB, for 4-7 % more step time), and costs most where activations are
    /// large (batch 8 x 256). Set when <c>Train</c> starts, before the adapters are applied; a model quantized earlier
    /// keeps the heap holes of its build (see docs/training.md#memory). Ignored while <see cref="TuneNativeAllocator"/> is false.
    /// </summary>
    public int NativeAllocatorMmapThreshold { get; set; } = NativeAllocatorDefaultThreshold;

    /// <summary>The default of <see cref="NativeAllocatorMmapThreshold"/>: 4 MiB.</summary>
    public const int NativeAllocatorDefaultThreshold = 4 * 1024 * 1024;

    /// <summary>
    /// The CPU threads libtorch uses within one operation during the run (<c>torch.set_num_threads</c>), from 1 up;
    /// null (default) leaves libtorch's setting, one thread per core unless the process set another. The setting is
    /// process-wide, so the trainer sets it when the run starts and puts the previous value back when the run ends.
    /// Fewer threads than cores pays off when other work keeps the cores busy: on 2 cores shared with two busy
    /// processes, LoRA steps took 4.2-4.8 s on 1 thread against 4.6-7.6 s on 2; on the same cores idle, 2 threads were
    /// 1.6x faster than 1 (docs/training.md#threads). The thread count also changes results at the last bits.
    /// </summary>
    public int? Threads { get; set; }

    /// <summary>
    /// On Linux/glibc: give the heap memory freed by the steps back to the system (malloc_trim) after every this many
    /// optimizer steps and after each validation pass; 0 = never. Independent of <see cref="TuneNativeAllocator"/>.
    /// Default 10. Every step gives the lowest peak memory, but the next step then faults its memory in again: measured on
    /// all-MiniLM-L6-v2 LoRA over 30 steps, every step: peak 1.65 GB at +24 % step time; every 10: 1.74 GB at +3 %;
    /// never: 1.79 GB and climbing as batches of other shapes fragment the heap. Trims are skipped while they have taken
    /// more than 3 % of the training time. See docs/training.md.
    /// </summary>
    public int HeapTrimEverySteps { get; set; } = 10;

    /// <summary>
    /// Folder for resumable checkpoints (<c>checkpoint-&lt;step&gt;</c> sub-folders); null (default) writes none. A checkpoint
    /// is also written when the run is cancelled, so no finished step is lost. Resume with <c>ResumeFrom</c>.
    /// </summary>
    public string? CheckpointDirectory { get; set; }

    /// <summary>Write a checkpoint every this many optimizer steps (0 = only at the end or on cancellation). Default 0.</summary>
    public int CheckpointEverySteps { get; set; }

    /// <summary>How many checkpoints to keep (the newest). Default 2.</summary>
    public int KeepCheckpoints { get; set; } = 2;

    /// <summary>Stop when the validation metric stops improving (null = never). Needs a validation set; evaluations
    /// happen every <see cref="EvaluateEverySteps"/> steps or at each epoch end. Default null.</summary>
    public EarlyStopping? EarlyStopping { get; set; }

    /// <summary>At the end of the run, put back the trainable parameters of the best evaluation (by
    /// <see cref="EarlyStopping"/>'s metric, or the validation loss), HF's <c>load_best_model_at_end</c>. The best
    /// weights are kept in memory (a copy of the trainable parameters: small for adapters, a second copy of the weights
    /// for full fine-tuning). Needs a validation set. Default false.</summary>
    public bool LoadBestAtEnd { get; set; }

    /// <summary>
    /// Checkpoint the decoder layers during the run (Hugging Face's <c>gradient_checkpointing</c>): every layer but the
    /// last keeps only its input during forward and runs again in backward (the last layer's activations are what
    /// backward needs first, so recomputing it would save nothing), so activation memory falls to about one hidden state
    /// per layer for roughly one more forward pass of compute (+27-32 % step time measured, docs/benchmarks/memory.md). Gradients are unchanged, dropout included. Needs a model that
    /// implements <see cref="ISupportsGradientCheckpointing"/> (LLaMA family, GPT-2). Default false. See docs/training.md.
    /// </summary>
    public bool GradientCheckpointing { get; set; }

    /// <summary>
    /// Folder for the run's metrics logs (HF's <c>logging_dir</c>); null (default) writes none. While the run trains, it
    /// receives <c>metrics.jsonl</c> (one JSON object per step, evaluation and warning, appended and flushed line by
    /// line; see <see cref="Monitoring.JsonlMetricsWriter"/>) and a TensorBoard event file
    /// (<c>events.out.tfevents.*</c>, see <see cref="Monitoring.TensorBoardEventWriter"/>): <c>tensorboard --logdir</c>
    /// on this folder shows the run. See docs/reporting.md.
    /// </summary>
    public string? LoggingDirectory { get; set; }

    /// <summary>
    /// Whether the CPU multiplies bf16 natively (<see cref="CpuFeatures.HasNativeBFloat16"/>), asked where the dtype is
    /// chosen and the emulated-bf16 warning decided; tests replace it to act as another CPU would.
    /// </summary>
    internal Func<bool?> NativeBFloat16 { get; set; } = static () => CpuFeatures.HasNativeBFloat16;

    internal TrainingOptions Clone() => (TrainingOptions)MemberwiseClone();

    internal IEnumerable<string> Validate()
    {
        if (Epochs < 1 && MaxSteps is null) yield return $"Epochs must be at least 1 (was {Epochs}) unless MaxSteps is set.";
        if (MaxSteps is < 1) yield return $"MaxSteps must be at least 1 when set (was {MaxSteps}).";
        if (BatchSize < 1) yield return $"BatchSize must be at least 1 (was {BatchSize}).";
        if (GradientAccumulationSteps < 1) yield return $"GradientAccumulationSteps must be at least 1 (was {GradientAccumulationSteps}).";
        if (!(LearningRate > 0) || double.IsInfinity(LearningRate)) yield return $"LearningRate must be a positive finite number (was {LearningRate}).";
        if (WarmupSteps < 0) yield return $"WarmupSteps must not be negative (was {WarmupSteps}).";
        if (!(WarmupRatio >= 0 && WarmupRatio < 1)) yield return $"WarmupRatio must be in [0, 1) (was {WarmupRatio}).";
        if (MaxGradNorm is { } g && !(g > 0 && !double.IsInfinity(g))) yield return $"MaxGradNorm must be a positive finite number or null (was {g}).";
        if (ParameterDType is not (torch.ScalarType.Float32 or torch.ScalarType.BFloat16 or torch.ScalarType.Float64))
            yield return $"ParameterDType must be Float32, BFloat16 or Float64 (was {ParameterDType}); Float16 is very slow on CPU.";
        if (!System.Enum.IsDefined(DTypePolicy)) yield return $"DTypePolicy has an unknown value {DTypePolicy}.";
        else if (DTypePolicy == DTypePolicy.Auto && ParameterDType != torch.ScalarType.Float32)
            yield return $"DTypePolicy is Auto but ParameterDType is set to {ParameterDType}: choose one (Auto picks the dtype itself).";
        if (LogEverySteps < 0) yield return $"LogEverySteps must not be negative (was {LogEverySteps}).";
        if (Threads is < 1) yield return $"Threads must be at least 1, or null to leave libtorch's setting (was {Threads}).";
        if (HeapTrimEverySteps < 0) yield return $"HeapTrimEverySteps must not be negative (was {HeapTrimEverySteps}).";
        if (NativeAllocator.ThresholdProblem(NativeAllocatorMmapThreshold) is { } threshold)
            yield return "NativeAllocatorMmapThreshold " + threshold;
        if (EvaluateEverySteps < 0) yield return $"EvaluateEverySteps must not be negative (was {EvaluateEverySteps}).";
        if (CheckpointEverySteps < 0) yield return $"CheckpointEverySteps must not be negative (was {CheckpointEverySteps}).";
        if (KeepCheckpoints < 1) yield return $"KeepCheckpoints must be at least 1 (was {KeepCheckpoints}).";
        if (CheckpointEverySteps > 0 && CheckpointDirectory is null) yield return "CheckpointEverySteps is set but CheckpointDirectory is not.";
        if (LoggingDirectory is not null && string.IsNullOrWhiteSpace(LoggingDirectory)) yield return "LoggingDirectory must name a folder or be null.";
        if (string.IsNullOrWhiteSpace(Device)) yield return "Device must name a device such as \"cpu\" or \"cuda:0\".";
        if (Optimizer is null) yield return "Optimizer must be set.";
        else foreach (string p in Optimizer.Validate()) yield return p;
        if (Schedule is null) yield return "Schedule must be set.";
        if (!System.Enum.IsDefined(NonFiniteLoss)) yield return $"NonFiniteLoss has an unknown value {NonFiniteLoss}.";
        if (EarlyStopping is not null) foreach (string p in EarlyStopping.Validate()) yield return p;
    }
}

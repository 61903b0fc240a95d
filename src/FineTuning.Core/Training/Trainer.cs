using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using FineTuning.Adapters;
using FineTuning.Evaluation;
using Microsoft.Extensions.Logging;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Training;

/// <summary>
/// The training loop, readable in one sitting: for each optimizer step, count the targets of all its
/// micro-batches, backpropagate each micro-batch's summed loss divided by that count (so accumulation equals one
/// large batch), check the loss, clip, update, schedule. One dispose scope per step.
/// </summary>
internal sealed class Trainer<TExample>
{
    private readonly nn.Module _model;
    private readonly ITrainingObjective<TExample> _objective;
    private readonly TrainingOptions _options;
    private readonly ILogger _logger;
    private readonly IProgress<TrainingProgress>? _progress;
    private readonly IReadOnlyList<TExample>? _validation;
    private readonly IReadOnlyList<IModelAdapter> _adapters;
    private readonly string? _resumeFrom;
    private readonly EvaluationOptions _evaluation;
    private readonly IReadOnlyList<ITrainingCallback> _callbacks;

    public Trainer(nn.Module model, ITrainingObjective<TExample> objective, TrainingOptions options, ILogger logger,
        IProgress<TrainingProgress>? progress, IReadOnlyList<TExample>? validation, IReadOnlyList<IModelAdapter> adapters, string? resumeFrom,
        EvaluationOptions? evaluation = null, IReadOnlyList<ITrainingCallback>? callbacks = null)
    {
        _evaluation = evaluation ?? new EvaluationOptions();
        _callbacks = callbacks ?? Array.Empty<ITrainingCallback>();
        _resumeFrom = resumeFrom;
        _model = model;
        _objective = objective;
        _options = options;
        _logger = logger;
        _progress = progress;
        _validation = validation;
        _adapters = adapters;
    }

    public static long PlannedSteps(TrainingOptions options, int examples) => options.MaxSteps ?? StepsPerEpoch(options, examples) * options.Epochs;

    /// <summary>Optimizer steps in one pass over the data (the last step of an epoch may hold fewer micro-batches).</summary>
    private static long StepsPerEpoch(TrainingOptions options, int examples)
    {
        long microBatches = (examples + options.BatchSize - 1) / options.BatchSize;
        return (microBatches + options.GradientAccumulationSteps - 1) / options.GradientAccumulationSteps;
    }

    public TrainingRun Run(IReadOnlyList<TExample> data, CancellationToken cancellationToken)
    {
        if (_options.TuneNativeAllocator && NativeAllocator.Tune(_options.NativeAllocatorMmapThreshold)) TrainerLog.AllocatorTuned(_logger, _options.NativeAllocatorMmapThreshold);
        // A checkpoint this run cannot continue from (other seed, beyond the planned steps) is refused before the model
        // is touched; its tensors are checked against the adapted model in Resume, before anything is copied.
        var checkpoints = new RunCheckpoints(_options, _logger);
        string? resumeFolder = _resumeFrom is null ? null : RunCheckpoints.Locate(_resumeFrom);
        if (resumeFolder is not null) Checkpoints.TrainingCheckpoint.ReadState(resumeFolder, _options.Seed, PlannedSteps(_options, data.Count));
        foreach (IModelAdapter adapter in _adapters) adapter.Apply(_model);
        Device device = torch.device(_options.Device);
        ScalarType dtype = ParameterDTypes.Resolve(_options, device.type);
        if (_options.DTypePolicy == DTypePolicy.Auto) TrainerLog.AutoDType(_logger, dtype.ToString(), device.type.ToString());
        bool emulatedBFloat16 = dtype == ScalarType.BFloat16 && device.type == DeviceType.CPU && _options.NativeBFloat16() == false;
        _model.to(dtype).to(device); // before the optimizer: .to() replaces parameters
        List<TrainableParameter> trainable = TrainableParameters(_model);
        if (trainable.Count == 0) throw new InvalidConfigurationException(new[] { "The model has no trainable parameters (every parameter has requires_grad = false)." });

        long totalSteps = PlannedSteps(_options, data.Count);
        long warmup = _options.WarmupSteps > 0 ? _options.WarmupSteps : (long)Math.Ceiling(_options.WarmupRatio * totalSteps);
        var run = new TrainingRun(_model, totalSteps, _options.Optimizer.Create(trainable)) { Adapters = _adapters, OptionsCopy = _options.Clone() };
        long allParameters = _model.parameters().Sum(p => p.numel());
        TrainerLog.RunStarting(_logger, trainable.Sum(p => p.Parameter.numel()), allParameters, totalSteps, data.Count,
            _options.BatchSize, _options.GradientAccumulationSteps, dtype.ToString());

        var clock = Stopwatch.StartNew();
        var trimmer = new HeapTrimmer(clock, _options.HeapTrimEverySteps); // independent of TuneNativeAllocator
        using var events = new TrainerEvents<TExample>(_model, _objective, _options, _validation, _adapters, _evaluation, _callbacks, trimmer, _logger);
        _model.train();
        ZeroGradients(trainable);
        var checkpointing = _options.GradientCheckpointing ? _model as ISupportsGradientCheckpointing : null;
        bool checkpointingBefore = checkpointing?.GradientCheckpointing ?? false;
        if (checkpointing is not null) checkpointing.GradientCheckpointing = true;
        int threadsBefore = torch.get_num_threads();
        if (_options.Threads is int threads && threads != threadsBefore)
        {
            torch.set_num_threads(threads);
            TrainerLog.ThreadsSet(_logger, threads, threadsBefore);
        }

        try
        {
            long resumedAt = resumeFolder is null ? 0 : checkpoints.Resume(resumeFolder, run, trainable, totalSteps);
            events.Begin(run, resumedAt, emulatedBFloat16);
            if (_objective is IPreparingObjective<TExample> preparing)
            {
                preparing.Prepare(_model, data, device, resuming: resumedAt > 0);
                _model.train();
            }
            events.BeforeFirstStep(run, trainable, device, resumedAt);
            long step = 0, stepsPerEpoch = StepsPerEpoch(_options, data.Count);
            foreach ((int epoch, List<IReadOnlyList<TExample>> microBatches) in Steps(data))
            {
                if (step < resumedAt)
                {
                    step++; // replay the data order up to the checkpoint without computing anything
                    continue;
                }
                if (step == totalSteps) break;
                if (cancellationToken.IsCancellationRequested)
                {
                    run.Cancelled = true;
                    TrainerLog.Cancelled(_logger, step, totalSteps);
                    break;
                }
                step++;
                double lr = _options.LearningRate * _options.Schedule.Multiplier(step - 1, warmup, totalSteps);
                (_objective as IStepAwareObjective)?.BeginStep(step);
                StepMetrics? metrics = Step(run, step, epoch, lr, microBatches, trainable, device, clock);
                trimmer.After(step);
                if (metrics is not null)
                {
                    run.HistoryList.Add(metrics);
                    _progress?.Report(new TrainingProgress(step, totalSteps, epoch, metrics.Loss, lr, clock.Elapsed));
                    if (_options.LogEverySteps > 0 && (step % _options.LogEverySteps == 0 || step == totalSteps))
                        TrainerLog.StepDone(_logger, step, totalSteps, epoch, metrics.Loss, lr, metrics.GradientNorm);
                }
                if (events.AfterStep(run, step, totalSteps, stepsPerEpoch, trainable, device)) break; // stopped early
                events.Deliver(run);
                if (_options.CheckpointEverySteps > 0 && step % _options.CheckpointEverySteps == 0 && step != totalSteps)
                    checkpoints.Save(run, step, trainable, totalSteps);
            }
            events.FinalEvaluation(run, trainable, device);
            if (run.StepsCompleted > resumedAt) checkpoints.Save(run, run.StepsCompleted, trainable, totalSteps);
            events.End(run, trainable, device, clock);
        }
        catch (CheckpointException e) when (e.Run == run)
        {
            run.Elapsed = clock.Elapsed;
            throw; // the caller gets the run (history, metrics, the trained model) through the exception and owns it
        }
        catch
        {
            run.Dispose();
            throw;
        }
        finally
        {
            if (checkpointing is not null) checkpointing.GradientCheckpointing = checkpointingBefore;
            if (torch.get_num_threads() != threadsBefore) torch.set_num_threads(threadsBefore);
            ZeroGradients(trainable);
            _model.eval();
        }
        run.Elapsed = clock.Elapsed;
        TrainerLog.Finished(_logger, run.StepsCompleted, run.Elapsed);
        return run;
    }

    private StepMetrics? Step(TrainingRun run, long step, int epoch, double lr, List<IReadOnlyList<TExample>> microBatches,
        List<TrainableParameter> trainable, Device device, Stopwatch clock)
    {
        TimeSpan start = clock.Elapsed;
        using var scope = NewDisposeScope();
        long targets = microBatches.Sum(b => _objective.CountTargets(b));
        if (targets <= 0) return NonFinite(run, step, "number of targets", targets, trainable, alwaysSkip: true);
        using Scalar divisor = targets;
        double lossSum = 0;
        foreach (IReadOnlyList<TExample> batch in microBatches)
        {
            Tensor summed = _objective.SummedLoss(_model, batch, device);
            double value = summed.detach().to(ScalarType.Float64).item<double>();
            if (!double.IsFinite(value)) return NonFinite(run, step, "loss", value, trainable);
            lossSum += value;
            // Dividing by the targets of the whole step (not of this micro-batch) makes accumulation exact.
            summed.div(divisor).backward();
            Models.Fused.SavedTensors.DisposeReturned(); // the last fused node's gradients, already consumed by the engine
        }
        double norm = Gradients.ClipGlobalNorm(trainable, _options.MaxGradNorm);
        if (!double.IsFinite(norm)) return NonFinite(run, step, "gradient norm", norm, trainable);
        run.Optimizer.Step(lr);
        ZeroGradients(trainable);
        int examples = microBatches.Sum(b => b.Count);
        return new StepMetrics(step, epoch, lossSum / targets, lr, norm, targets, examples, clock.Elapsed - start);
    }

    private StepMetrics? NonFinite(TrainingRun run, long step, string what, double value, List<TrainableParameter> trainable, bool alwaysSkip = false)
    {
        ZeroGradients(trainable);
        if (!alwaysSkip && _options.NonFiniteLoss == NonFiniteLossPolicy.Throw) throw new NonFiniteLossException(step, what, value);
        run.SkippedSteps++;
        TrainerLog.StepSkipped(_logger, step, what, value);
        return null;
    }

    /// <summary>The micro-batches of each optimizer step, epoch after epoch (cycled when MaxSteps is set).</summary>
    private IEnumerable<(int Epoch, List<IReadOnlyList<TExample>> MicroBatches)> Steps(IReadOnlyList<TExample> data)
    {
        var random = new Random(_options.Seed);
        int[] order = Enumerable.Range(0, data.Count).ToArray();
        for (int epoch = 1; _options.MaxSteps is not null || epoch <= _options.Epochs; epoch++)
        {
            if (_options.Shuffle) random.Shuffle(order);
            var step = new List<IReadOnlyList<TExample>>(_options.GradientAccumulationSteps);
            for (int start = 0; start < order.Length; start += _options.BatchSize)
            {
                int count = Math.Min(_options.BatchSize, order.Length - start);
                var batch = new TExample[count];
                for (int i = 0; i < count; i++) batch[i] = data[order[start + i]];
                step.Add(batch);
                if (step.Count == _options.GradientAccumulationSteps)
                {
                    yield return (epoch, step);
                    step = new List<IReadOnlyList<TExample>>(_options.GradientAccumulationSteps);
                }
            }
            if (step.Count > 0) yield return (epoch, step);
        }
    }

    internal static List<TrainableParameter> TrainableParameters(nn.Module model) =>
        model.named_parameters()
            .Where(p => p.parameter.requires_grad)
            .Select(p => new TrainableParameter(p.name, p.parameter, p.parameter.dim() >= 2))
            .ToList();

    private void ZeroGradients(List<TrainableParameter> trainable)
    {
        _ = trainable;
        _model.zero_grad(set_to_none: true);
    }
}

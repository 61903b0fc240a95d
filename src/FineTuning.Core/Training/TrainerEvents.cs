using System;
using System.Collections.Generic;
using System.Diagnostics;
using FineTuning.Adapters;
using FineTuning.Evaluation;
using Microsoft.Extensions.Logging;
using static TorchSharp.torch;

namespace FineTuning.Training;

/// <summary>
/// What the trainer does around its steps, in the order it does it: the callbacks' lifecycle, the run's warnings, the
/// evaluations (step 0, during, final, after training; see <see cref="RunEvaluation{TExample}"/>), the best weights
/// (<see cref="TrainingOptions.LoadBestAtEnd"/>) and early stopping. Keeps <see cref="Trainer{TExample}"/> to the loop.
/// </summary>
internal sealed class TrainerEvents<TExample> : IDisposable
{
    private readonly TrainingOptions _options;
    private readonly bool _validates;
    private readonly RunEvaluation<TExample> _evaluation;
    private readonly IReadOnlyList<ITrainingCallback> _userCallbacks;
    private readonly HeapTrimmer _trimmer;
    private readonly ILogger _logger;
    private TrainingCallbacks? _callbacks;
    private BestWeights? _best;

    public TrainerEvents(nn.Module model, ITrainingObjective<TExample> objective, TrainingOptions options, IReadOnlyList<TExample>? validation,
        IReadOnlyList<IModelAdapter> adapters, EvaluationOptions evaluation, IReadOnlyList<ITrainingCallback> callbacks, HeapTrimmer trimmer, ILogger logger)
    {
        _options = options;
        _validates = validation is not null;
        _evaluation = new RunEvaluation<TExample>(model, objective, validation, options.BatchSize, evaluation, adapters, logger);
        _userCallbacks = callbacks;
        _trimmer = trimmer;
        _logger = logger;
    }

    /// <summary>
    /// The run starts (after a resume restored its history): opens the callbacks (and the log writers of
    /// <see cref="TrainingOptions.LoggingDirectory"/>), raises the warnings known before the first step, and starts
    /// tracking the best weights.
    /// </summary>
    public void Begin(TrainingRun run, long resumedAt, bool emulatedBFloat16)
    {
        _callbacks = new TrainingCallbacks(_userCallbacks, _options);
        _callbacks.Begin(run);
        if (emulatedBFloat16)
        {
            run.WarningList.Add(new TrainingWarning(TrainerLog.EmulatedBFloat16Code, resumedAt, TrainerLog.EmulatedBFloat16Message));
            TrainerLog.EmulatedBFloat16(_logger, resumedAt);
        }
        if (_options.LoadBestAtEnd) _best = new BestWeights(_options.EarlyStopping ?? new EarlyStopping(), run.Evaluations.Count);
    }

    /// <summary>Before the first step: measures what only the untrained model gives, and the step-0 evaluation of a new run.</summary>
    public void BeforeFirstStep(TrainingRun run, IReadOnlyList<TrainableParameter> trainable, Device device, long resumedAt)
    {
        _evaluation.BeforeTraining(device, resumed: resumedAt > 0);
        if (_validates && resumedAt == 0) Evaluate(run, 0, trainable, device);
    }

    /// <summary>After optimizer step <paramref name="step"/>: validates when due; true when early stopping ends the run.</summary>
    public bool AfterStep(TrainingRun run, long step, long totalSteps, long stepsPerEpoch, IReadOnlyList<TrainableParameter> trainable, Device device)
    {
        if (!EvaluatesAfter(step, totalSteps, stepsPerEpoch)) return false;
        Evaluate(run, step, trainable, device);
        if (_options.EarlyStopping?.ShouldStop(run.Evaluations) != true) return false;
        run.StoppedEarly = true;
        TrainerLog.StoppedEarly(_logger, step, _options.EarlyStopping.Patience);
        return true;
    }

    /// <summary>Hands what the run gained since the last call (steps, evaluations, warnings) to the callbacks.</summary>
    public void Deliver(TrainingRun run) => _callbacks!.Deliver(run);

    /// <summary>After the loop, before the final checkpoint: the end-of-run evaluation (with generation metrics).</summary>
    public void FinalEvaluation(TrainingRun run, IReadOnlyList<TrainableParameter> trainable, Device device)
    {
        if (_validates && _evaluation.Final(run, device)) _best?.Consider(run.Evaluations, trainable);
    }

    /// <summary>
    /// After the final checkpoint (which keeps the last state, so that a resume continues the run): restores the best
    /// weights, measures forgetting and the prompting baseline on the model the run returns, and ends the callbacks.
    /// </summary>
    public void End(TrainingRun run, IReadOnlyList<TrainableParameter> trainable, Device device, Stopwatch clock)
    {
        if (_best is not null && _best.Restore(trainable))
        {
            run.BestEvaluation = _best.Best;
            TrainerLog.RestoredBest(_logger, _best.Best!.Step, _best.Best.Loss);
        }
        _evaluation.AfterTraining(run, device, clock.Elapsed);
        run.Elapsed = clock.Elapsed;
        _callbacks!.End(run);
    }

    public void Dispose()
    {
        _best?.Dispose();
        _callbacks?.Dispose();
    }

    /// <summary>Whether validation runs after optimizer step <paramref name="step"/> (the run's final evaluation comes after the loop).</summary>
    private bool EvaluatesAfter(long step, long totalSteps, long stepsPerEpoch)
    {
        if (!_validates || step == totalSteps) return false;
        return _options.EvaluateEverySteps > 0 ? step % _options.EvaluateEverySteps == 0 : step % stepsPerEpoch == 0;
    }

    /// <summary>Validation (with task metrics and the overfitting check; generation metrics at step 0), then the best weights.</summary>
    private void Evaluate(TrainingRun run, long step, IReadOnlyList<TrainableParameter> trainable, Device device)
    {
        _evaluation.Evaluate(run, step, device, withGeneration: step == 0);
        _best?.Consider(run.Evaluations, trainable);
        _trimmer.After(null);
    }
}

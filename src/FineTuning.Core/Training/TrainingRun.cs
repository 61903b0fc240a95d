using System;
using System.Collections.Generic;
using TorchSharp;

namespace FineTuning.Training;

/// <summary>
/// The result of <c>Train</c>: the trained model (trained in place), the metrics history and evaluations.
/// Owns what the run created (optimizer state); dispose it when done. The model stays the caller's.
/// </summary>
public sealed class TrainingRun : IDisposable
{
    private IOptimizerState? _optimizerState;

    internal TrainingRun(torch.nn.Module model, long totalSteps, IOptimizerState optimizerState)
    {
        Model = model;
        TotalSteps = totalSteps;
        _optimizerState = optimizerState;
    }

    /// <summary>The model that was trained (the same instance that was passed in).</summary>
    public torch.nn.Module Model { get; }

    /// <summary>The adapters applied to the model when the run started, in order (empty for full fine-tuning).</summary>
    public IReadOnlyList<Adapters.IModelAdapter> Adapters { get; internal init; } = Array.Empty<Adapters.IModelAdapter>();

    /// <summary>A copy of the options the run trained with (changing it changes nothing).</summary>
    public TrainingOptions Options => (OptionsCopy ?? new TrainingOptions()).Clone();

    /// <summary>Optimizer steps planned.</summary>
    public long TotalSteps { get; }

    /// <summary>Optimizer steps applied or skipped.</summary>
    public long StepsCompleted => History.Count + SkippedSteps;

    /// <summary>Steps dropped because their loss was not finite (with <see cref="NonFiniteLossPolicy.SkipStep"/>).</summary>
    public int SkippedSteps { get; internal set; }

    /// <summary>True when the run stopped early at a step boundary because its token was cancelled.</summary>
    public bool Cancelled { get; internal set; }

    /// <summary>True when <see cref="TrainingOptions.EarlyStopping"/> ended the run before its planned steps.</summary>
    public bool StoppedEarly { get; internal set; }

    /// <summary>With <see cref="TrainingOptions.LoadBestAtEnd"/>: the evaluation whose weights the model holds at the end.</summary>
    public EvaluationMetrics? BestEvaluation { get; internal set; }

    /// <summary>Wall time of the run.</summary>
    public TimeSpan Elapsed { get; internal set; }

    /// <summary>One entry per applied optimizer step.</summary>
    public IReadOnlyList<StepMetrics> History => HistoryList;

    /// <summary>Validation losses, in order (empty without a validation set).</summary>
    public IReadOnlyList<EvaluationMetrics> Evaluations => EvaluationList;

    /// <summary>Warnings raised during the run (overfitting, forgetting, ...), in order; each was also logged.</summary>
    public IReadOnlyList<TrainingWarning> Warnings => WarningList;

    /// <summary>
    /// Perplexity on the general-text set before and after training, with <c>EvaluationOptions.Forgetting</c>; null
    /// without it, or when "before" could not be measured (a resumed full fine-tuning run).
    /// </summary>
    public FineTuning.Evaluation.ForgettingReport? Forgetting { get; internal set; }

    /// <summary>The few-shot prompting baseline next to the fine-tuned result, with <c>EvaluationOptions.PromptingBaseline</c>; else null.</summary>
    public FineTuning.Evaluation.PromptingBaselineReport? PromptingBaseline { get; internal set; }

    /// <summary>The loss of the last applied step, or null when none was applied.</summary>
    public double? FinalLoss => HistoryList.Count == 0 ? null : HistoryList[^1].Loss;

    internal TrainingOptions? OptionsCopy { get; init; }

    internal IOptimizerState Optimizer => _optimizerState ?? throw new ObjectDisposedException(nameof(TrainingRun));

    internal List<StepMetrics> HistoryList { get; } = new();

    internal List<EvaluationMetrics> EvaluationList { get; } = new();

    internal List<TrainingWarning> WarningList { get; } = new();

    /// <inheritdoc />
    public void Dispose()
    {
        _optimizerState?.Dispose();
        _optimizerState = null;
    }
}

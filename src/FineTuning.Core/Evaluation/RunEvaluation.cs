using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Globalization;
using System.Linq;
using FineTuning.Adapters;
using FineTuning.Models;
using FineTuning.Training;
using Microsoft.Extensions.Logging;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Evaluation;

/// <summary>
/// Everything a run measures besides training: the validation pass with task metrics, the train-vs-validation gap and
/// the overfitting warning, generation metrics before training and at the end, forgetting and the prompting baseline.
/// The trainer calls it at four points: <see cref="BeforeTraining"/>, <see cref="Evaluate"/>, <see cref="Final"/> and
/// <see cref="AfterTraining"/>.
/// </summary>
internal sealed class RunEvaluation<TExample>(
    nn.Module model, ITrainingObjective<TExample> objective, IReadOnlyList<TExample>? validation, int batchSize,
    EvaluationOptions options, IReadOnlyList<IModelAdapter> adapters, ILogger logger)
{
    private double? _perplexityBefore;
    private GenerationReport? _promptingBefore;

    private bool CanDisableAdapters => adapters.Any(a => a is IDisableableAdapter);

    /// <summary>Measures the base model where it cannot be recovered at the end (no adapter to disable).</summary>
    public void BeforeTraining(Device device, bool resumed)
    {
        if (CanDisableAdapters || (options.Forgetting is null && options.PromptingBaseline is null)) return;
        if (resumed)
        {
            EvaluationLog.NotMeasured(logger, "Forgetting / prompting baseline",
                "the run resumed from a checkpoint, so the model before training is gone and no adapter can be disabled to recover it");
            return;
        }
        if (options.Forgetting is not null) _perplexityBefore = GeneralPerplexity(device);
        if (options.PromptingBaseline is { } prompting) _promptingBefore = GenerationScoring.Run(model, options.Generation!, prompting.Prompt);
    }

    /// <summary>
    /// Validates at <paramref name="step"/> and appends the evaluation; generation metrics too when
    /// <paramref name="withGeneration"/>, and the general-text perplexity with <see cref="ForgettingCheck.EveryEvaluation"/>.
    /// </summary>
    public void Evaluate(TrainingRun run, long step, Device device, bool withGeneration)
    {
        EvaluationMetrics m = Training.Evaluation.Loss(model, objective, validation!, batchSize, device, step, options.TaskMetrics);
        var metrics = new Dictionary<string, double>(m.Metrics, StringComparer.Ordinal);
        long previousStep = run.Evaluations.Count == 0 ? 0 : run.Evaluations[^1].Step;
        if (step > 0) OverfittingCheck.AddGap(metrics, run.History, previousStep, step, m.Loss);
        if (options.Forgetting is { EveryEvaluation: true }) metrics[MetricNames.GeneralPerplexity] = GeneralPerplexity(device);
        GenerationReport? generation = withGeneration && options.Generation is not null ? GenerationScoring.Run(model, options.Generation) : null;
        if (generation is not null) foreach (KeyValuePair<string, double> g in generation.ToMetrics()) metrics[g.Key] = g.Value;
        m = m with { Metrics = metrics.ToImmutableDictionary(StringComparer.Ordinal), Generation = generation };
        run.EvaluationList.Add(m);
        TrainerLog.Evaluated(logger, step, m.Loss, m.Targets);
        if (metrics.Count > 0) EvaluationLog.TaskMetrics(logger, step, Format(metrics));
        if (OverfittingCheck.StreakReached(run.Evaluations, options.OverfittingPatience))
            Warn(run, "overfitting", step, OverfittingCheck.Message(run.Evaluations, options.OverfittingPatience));
    }

    /// <summary>
    /// The end-of-run evaluation: validates at the last step unless that was just done, and adds the generation metrics
    /// to it. True when the last evaluation was appended or replaced (to be considered again for the best weights, so
    /// that <see cref="TrainingRun.BestEvaluation"/> is the record in the list).
    /// </summary>
    public bool Final(TrainingRun run, Device device)
    {
        if (run.Evaluations.Count == 0 || run.Evaluations[^1].Step != run.StepsCompleted)
        {
            Evaluate(run, run.StepsCompleted, device, withGeneration: true);
            return true;
        }
        EvaluationMetrics last = run.Evaluations[^1];
        if (options.Generation is null || last.Generation is not null) return false;
        GenerationReport generation = GenerationScoring.Run(model, options.Generation);
        var metrics = new Dictionary<string, double>(last.Metrics, StringComparer.Ordinal);
        foreach (KeyValuePair<string, double> g in generation.ToMetrics()) metrics[g.Key] = g.Value;
        run.EvaluationList[^1] = last with { Metrics = metrics.ToImmutableDictionary(StringComparer.Ordinal), Generation = generation };
        EvaluationLog.TaskMetrics(logger, last.Step, Format(metrics));
        return true;
    }

    /// <summary>On the model the run returns (best weights restored): forgetting and the prompting baseline.</summary>
    public void AfterTraining(TrainingRun run, Device device, TimeSpan trainingTime)
    {
        if (options.Forgetting is { } forgetting) MeasureForgetting(run, forgetting, device);
        if (options.PromptingBaseline is { } prompting) ComparePrompting(run, prompting, trainingTime);
    }

    private void MeasureForgetting(TrainingRun run, ForgettingCheck check, Device device)
    {
        double after = GeneralPerplexity(device);
        double? before = _perplexityBefore;
        if (CanDisableAdapters)
        {
            using IDisposable off = DisableAdapters();
            before = GeneralPerplexity(device);
        }
        if (before is null) return;
        long tokens = check.GeneralText.Sum(s => (long)s.TargetCount);
        var report = new ForgettingReport(before.Value, after, tokens, CanDisableAdapters, check.MaxRelativeIncrease);
        run.Forgetting = report;
        EvaluationLog.Forgetting(logger, report.BeforePerplexity, report.AdaptersDisabled ? "adapters disabled" : "before training", report.AfterPerplexity, report.Ratio);
        if (report.Forgot)
        {
            string message = string.Create(CultureInfo.InvariantCulture,
                $"Perplexity on the general text rose from {report.BeforePerplexity:F3} to {report.AfterPerplexity:F3} ({report.RelativeIncrease:P1}, threshold {report.MaxRelativeIncrease:P1}): the model lost general ability. ");
            Warn(run, "forgetting", run.StepsCompleted, message + "Use fewer steps or a lower learning rate, a smaller adapter rank, or mix general text into the training data.");
        }
    }

    private void ComparePrompting(TrainingRun run, PromptingBaseline prompting, TimeSpan trainingTime)
    {
        GenerationReport? before = _promptingBefore;
        if (CanDisableAdapters)
        {
            using IDisposable off = DisableAdapters();
            before = GenerationScoring.Run(model, options.Generation!, prompting.Prompt);
        }
        if (before is null) return;
        // The last evaluation scored the final weights unless the best ones were restored since.
        EvaluationMetrics? last = run.Evaluations.Count == 0 ? null : run.Evaluations[^1];
        bool restored = run.BestEvaluation is { } best && best.Step != last?.Step;
        GenerationReport fineTuned = !restored && last?.Generation is { } g ? g : GenerationScoring.Run(model, options.Generation!);
        run.PromptingBaseline = new PromptingBaselineReport(prompting.Shots.Count, before, fineTuned, trainingTime);
        EvaluationLog.PromptingBaseline(logger, prompting.Shots.Count, Format(before.ToMetrics()), before.Elapsed, Format(fineTuned.ToMetrics()), fineTuned.Elapsed);
    }

    private double GeneralPerplexity(Device device) =>
        Training.Evaluation.Loss(model, new CausalLMObjective(), options.Forgetting!.GeneralText, options.Forgetting.BatchSize, device, 0).Perplexity;

    private IDisposable DisableAdapters()
    {
        var tokens = new List<IDisposable>();
        foreach (IDisableableAdapter adapter in adapters.OfType<IDisableableAdapter>().Reverse()) tokens.Add(adapter.DisableAdapter(model));
        return new Tokens(tokens);
    }

    private void Warn(TrainingRun run, string code, long step, string message)
    {
        run.WarningList.Add(new TrainingWarning(code, step, message));
        EvaluationLog.Warning(logger, code, step, message);
    }

    private static string Format(IReadOnlyDictionary<string, double> metrics) =>
        string.Join(", ", metrics.OrderBy(m => m.Key, StringComparer.Ordinal).Select(m => string.Create(CultureInfo.InvariantCulture, $"{m.Key} {m.Value:G6}")));

    private sealed class Tokens(List<IDisposable> tokens) : IDisposable
    {
        public void Dispose()
        {
            for (int i = tokens.Count - 1; i >= 0; i--) tokens[i].Dispose();
            tokens.Clear();
        }
    }
}

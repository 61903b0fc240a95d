using System;
using System.Collections.Generic;
using System.Linq;
using FineTuning.Evaluation;
using FineTuning.Testing;
using FineTuning.Training;
using Microsoft.Extensions.Logging;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Core.Tests.Evaluation;

public sealed class OverfittingTests
{
    /// <summary>
    /// Trains for <paramref name="trainLosses"/>.Length steps with the step losses and validation losses scripted: the
    /// objective returns the next scripted value (times the batch size) plus 0 * a parameter, so the graph exists.
    /// </summary>
    private static TrainingRun Scripted(double[] trainLosses, double[] validationLosses, int evaluateEvery, ListLogger? log = null, int patience = 2)
    {
        int step = 0, evaluation = 0;
        using var model = TinyModels.Mlp(2, 2, 2, seed: 1);
        FineTuner<LabeledVector> builder = FineTuner
            .For<LabeledVector>(model, (m, batch, d) =>
            {
                double value = is_grad_enabled() ? trainLosses[step++] : validationLosses[evaluation++];
                return m.parameters().First().sum().mul(0).add(value * batch.Count);
            })
            .WithOptions(o => { o.MaxSteps = trainLosses.Length; o.BatchSize = 4; o.EvaluateEverySteps = evaluateEvery; o.LogEverySteps = 0; o.ParameterDType = ScalarType.Float64; })
            .WithEvaluation(e => e.OverfittingPatience = patience)
            .WithValidation(new[] { new LabeledVector(new float[] { 0, 0 }, 0) });
        if (log is not null) builder = builder.WithLogging(LoggerFactory.Create(b => b.AddProvider(log)));
        return builder.Train(Enumerable.Repeat(new LabeledVector(new float[] { 1, 1 }, 1), 4).ToList());
    }

    [Fact]
    public void Train_ValidationRisesTwiceWhileTrainingFalls_OneOverfittingWarningAtTheSecondRise()
    {
        var log = new ListLogger();
        // Evaluations at steps 0..5; train losses fall throughout; validation falls, then rises from step 2 on.
        using TrainingRun run = Scripted(
            trainLosses: new[] { 2.0, 1.8, 1.6, 1.4, 1.2 },
            validationLosses: new[] { 2.1, 1.9, 1.7, 1.8, 1.9, 2.0 },
            evaluateEvery: 1,
            log);

        Assert.Equal(new long[] { 0, 1, 2, 3, 4, 5 }, run.Evaluations.Select(e => e.Step));
        TrainingWarning warning = Assert.Single(run.Warnings);
        Assert.Equal("overfitting", warning.Code);
        Assert.Equal(4, warning.Step); // rises 2->3 and 3->4; the rise 4->5 continues the same streak
        Assert.Contains("1.7000 at step 2 -> 1.9000 at step 4", warning.Message, StringComparison.Ordinal);
        Assert.Contains(log.Entries, e => e.Level == LogLevel.Warning && e.Message.StartsWith("overfitting at step 4", StringComparison.Ordinal));
    }

    [Fact]
    public void Train_BothLossesFall_NoWarning()
    {
        using TrainingRun run = Scripted(new[] { 2.0, 1.8, 1.6, 1.4, 1.2 }, new[] { 2.1, 1.9, 1.7, 1.6, 1.5, 1.45 }, evaluateEvery: 1);
        Assert.Empty(run.Warnings);
    }

    [Fact]
    public void Train_ValidationRisesButTrainingRisesToo_NoWarning()
    {
        using TrainingRun run = Scripted(new[] { 2.0, 2.1, 2.2, 2.3, 2.4 }, new[] { 2.1, 1.9, 2.0, 2.1, 2.2, 2.3 }, evaluateEvery: 1);
        Assert.Empty(run.Warnings);
    }

    [Fact]
    public void Train_PatienceZero_NoWarningEvenWhenOverfitting()
    {
        using TrainingRun run = Scripted(new[] { 2.0, 1.8, 1.6, 1.4, 1.2 }, new[] { 2.1, 1.9, 1.7, 1.8, 1.9, 2.0 }, evaluateEvery: 1, patience: 0);
        Assert.Empty(run.Warnings);
    }

    [Fact]
    public void Train_EvaluatingEveryTwoSteps_TrainLossIsTheMeanOfTheStepsSinceTheLastEvaluationAndGapIsTheDifference()
    {
        using TrainingRun run = Scripted(new[] { 2.0, 1.6, 1.5, 1.1 }, new[] { 2.5, 1.9, 1.7 }, evaluateEvery: 2);
        Assert.Equal(new long[] { 0, 2, 4 }, run.Evaluations.Select(e => e.Step));
        Assert.False(run.Evaluations[0].Metrics.ContainsKey(MetricNames.TrainLoss));
        Assert.Equal(1.8, run.Evaluations[1].Metrics[MetricNames.TrainLoss], 12);
        Assert.Equal(1.9 - 1.8, run.Evaluations[1].Metrics[MetricNames.GeneralizationGap], 12);
        Assert.Equal(1.3, run.Evaluations[2].Metrics[MetricNames.TrainLoss], 12);
        Assert.Equal(1.7 - 1.3, run.Evaluations[2].Metrics[MetricNames.GeneralizationGap], 12);
    }

    [Fact]
    public void WithEvaluation_NegativePatience_IsAConfigurationError()
    {
        using var model = TinyModels.Mlp(2, 2, 2, seed: 1);
        var e = Assert.Throws<InvalidConfigurationException>(() => FineTuner.For(model, new VectorClassificationObjective())
            .WithEvaluation(o => o.OverfittingPatience = -1)
            .Train(new[] { new LabeledVector(new float[] { 1, 1 }, 1) }));
        Assert.Contains(e.Problems, p => p.Contains("OverfittingPatience must not be negative (was -1)", StringComparison.Ordinal));
    }

}

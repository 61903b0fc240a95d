using System;
using System.Collections.Generic;
using System.Linq;
using FineTuning.Testing;
using FineTuning.Training;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Core.Tests.Training;

public sealed class EarlyStoppingTests
{
    private static List<EvaluationMetrics> Curve(params double[] losses) =>
        losses.Select((l, i) => new EvaluationMetrics(i, l, 10)).ToList();

    [Theory]
    [InlineData(3, true)]   // best at index 1, then 3 evaluations without improvement
    [InlineData(4, false)]
    public void ShouldStop_ScriptedCurve_CountsEvaluationsSinceTheBest(int patience, bool expected)
    {
        Assert.Equal(expected, new EarlyStopping { Patience = patience }.ShouldStop(Curve(1.0, 0.8, 0.85, 0.9, 0.95)));
    }

    [Fact]
    public void ShouldStop_ImprovementsSmallerThanMinDelta_DoNotCount()
    {
        List<EvaluationMetrics> creeping = Curve(1.0, 0.995, 0.99, 0.985);
        Assert.True(new EarlyStopping { Patience = 3, MinDelta = 0.02 }.ShouldStop(creeping));
        Assert.False(new EarlyStopping { Patience = 3 }.ShouldStop(creeping));
    }

    [Fact]
    public void BestIndex_GreaterIsBetter_PicksTheLargestMetric()
    {
        var rule = new EarlyStopping { Metric = m => -m.Loss * 2, GreaterIsBetter = true, Patience = 1 };
        Assert.Equal(2, rule.BestIndex(Curve(3, 2, 1, 4)));
        Assert.True(rule.ShouldStop(Curve(3, 2, 1, 4)));
        Assert.Equal(-1, rule.BestIndex(Array.Empty<EvaluationMetrics>()));
    }

    [Property(MaxTest = 200)]
    public Property ShouldStop_IsFalse_WhenTheLastEvaluationIsTheBest(NonEmptyArray<NormalFloat> values, PositiveInt patience)
    {
        double[] losses = values.Get.Select(v => Math.Abs(v.Get) + 1).ToArray();
        losses = losses.Append(losses.Min() - 0.5).ToArray();
        return (!new EarlyStopping { Patience = patience.Get % 5 + 1 }.ShouldStop(Curve(losses))).ToProperty();
    }

    [Fact]
    public void Train_ValidationLossRisesAfterStepTwo_StopsAfterPatienceAndRestoresStepTwoWeightsBitForBit()
    {
        // Validation losses scripted per evaluation (steps 0, 1, 2, ...): best at step 2, then worse three times.
        double[] script = { 5, 4, 3, 3.5, 3.6, 3.7, 3.8, 3.9, 4.0, 4.1 };
        int evaluations = 0;
        var inner = new VectorClassificationObjective();
        using Mlp model = TinyModels.Mlp(2, 8, 2, seed: 3);
        Dictionary<string, Tensor>? atStepTwo = null;
        var progress = new TrainerTests.SyncProgress(p =>
        {
            if (p.Step == 2) atStepTwo = model.named_parameters().ToDictionary(n => n.name, n => n.parameter.detach().clone());
        });

        using TrainingRun run = FineTuner
            .For<LabeledVector>(model, (m, batch, d) => is_grad_enabled()
                ? inner.SummedLoss(m, batch, d)
                : tensor(script[evaluations++] * batch.Count), batch => batch.Count)
            .WithOptions(o => { o.MaxSteps = 9; o.BatchSize = 16; o.LearningRate = 0.05; o.EvaluateEverySteps = 1; o.EarlyStopping = new EarlyStopping { Patience = 3 }; o.LoadBestAtEnd = true; })
            .WithValidation(TrainerTests.Rings(16, seed: 2))
            .WithProgress(progress)
            .Train(TrainerTests.Rings(64, seed: 1));

        Assert.True(run.StoppedEarly);
        Assert.Equal(5, run.StepsCompleted);
        Assert.Equal(new long[] { 0, 1, 2, 3, 4, 5 }, run.Evaluations.Select(e => e.Step));
        Assert.Equal(2, run.BestEvaluation!.Step);
        foreach ((string name, var p) in model.named_parameters())
            Assert.True(p.detach().eq(atStepTwo![name]).all().item<bool>(), $"{name} is not the step-2 value");
    }

    [Fact]
    public void Train_EarlyStoppingWithoutValidation_IsAConfigurationError()
    {
        using Mlp model = TinyModels.Mlp(2, 4, 2, seed: 1);
        var error = Assert.Throws<InvalidConfigurationException>(() => FineTuner.For(model, new VectorClassificationObjective())
            .WithOptions(o => { o.MaxSteps = 2; o.EarlyStopping = new EarlyStopping { Patience = 0 }; o.LoadBestAtEnd = true; })
            .Train(TrainerTests.Rings(16, seed: 1)));
        Assert.Contains(error.Problems, p => p.Contains("Patience", StringComparison.Ordinal));
        Assert.Contains(error.Problems, p => p.Contains("EarlyStopping needs a validation set", StringComparison.Ordinal));
        Assert.Contains(error.Problems, p => p.Contains("LoadBestAtEnd needs a validation set", StringComparison.Ordinal));
    }
}

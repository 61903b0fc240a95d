using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using FineTuning.Testing;
using FineTuning.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Core.Tests.Training;

public sealed class TrainerTests
{
    /// <summary>Two interleaved noisy rings: not linearly separable, so the hidden layer has to learn.</summary>
    internal static List<LabeledVector> Rings(int count, int seed)
    {
        var random = new Random(seed);
        var data = new List<LabeledVector>(count);
        for (int i = 0; i < count; i++)
        {
            long label = i % 2;
            double radius = (label == 0 ? 1.0 : 2.0) + (random.NextDouble() - 0.5) * 0.4;
            double angle = random.NextDouble() * 2 * Math.PI;
            data.Add(new LabeledVector(new[] { (float)(radius * Math.Cos(angle)), (float)(radius * Math.Sin(angle)) }, label));
        }
        return data;
    }

    [Fact]
    public void Train_TinyMlpOnRings_ReachesNinetyFivePercentHeldOutAccuracy()
    {
        using Mlp model = TinyModels.Mlp(2, 16, 2, seed: 1);
        List<LabeledVector> train = Rings(512, seed: 10), test = Rings(256, seed: 11);
        double before = VectorClassificationObjective.Accuracy(model, test);

        using TrainingRun run = FineTuner.For(model, new VectorClassificationObjective())
            .WithOptions(o => { o.Epochs = 30; o.BatchSize = 32; o.LearningRate = 0.02; o.Schedule = new CosineSchedule(); o.WarmupSteps = 10; })
            .Train(train);

        double after = VectorClassificationObjective.Accuracy(model, test);
        Assert.InRange(before, 0.0, 0.8);
        Assert.True(after >= 0.95, $"held-out accuracy {after:P1} (before {before:P1})");
        Assert.Equal(30 * 16, run.History.Count);
        Assert.True(run.History[^1].Loss < run.History[0].Loss / 4, "loss fell by 4x");
    }

    [Fact]
    public void Train_SameSeed_GivesBitIdenticalLossCurve_DifferentSeedDiffers()
    {
        double[] a = LossCurve(seed: 5), b = LossCurve(seed: 5), c = LossCurve(seed: 6);
        Assert.Equal(a, b); // exact double equality, element by element
        Assert.NotEqual(a, c);
    }

    private static double[] LossCurve(int seed)
    {
        using Mlp model = TinyModels.Mlp(2, 8, 2, seed: 2);
        using TrainingRun run = FineTuner.For(model, new VectorClassificationObjective())
            .WithOptions(o => { o.Epochs = 3; o.BatchSize = 16; o.LearningRate = 0.01; o.Seed = seed; })
            .Train(Rings(128, seed: 12));
        return run.History.Select(h => h.Loss).ToArray();
    }

    [Fact]
    public void Train_CancelledAtStepFive_StopsAtStepBoundaryAndReturnsWhatWasDone()
    {
        using Mlp model = TinyModels.Mlp(2, 8, 2, seed: 3);
        using var cts = new CancellationTokenSource();
        var progress = new SyncProgress(p => { if (p.Step == 5) cts.Cancel(); });
        using TrainingRun run = FineTuner.For(model, new VectorClassificationObjective())
            .WithOptions(o => { o.Epochs = 10; o.BatchSize = 8; })
            .WithProgress(progress)
            .Train(Rings(64, seed: 1), cts.Token);

        Assert.True(run.Cancelled);
        Assert.Equal(5, run.StepsCompleted);
        Assert.Equal(new long[] { 1, 2, 3, 4, 5 }, run.History.Select(h => h.Step));
        Assert.Equal(80, run.TotalSteps);
        Assert.Equal(5, progress.Reports.Count);
    }

    [Fact]
    public void Train_NaNLossAtStepThree_ThrowsNamingTheStep_AndKeepsWeightsFinite()
    {
        using Mlp model = TinyModels.Mlp(2, 8, 2, seed: 4);
        var ex = Assert.Throws<NonFiniteLossException>(() => FineTuner.For(model, PoisonedObjective(poisonCall: 3))
            .WithOptions(o => { o.Epochs = 2; o.BatchSize = 8; o.Shuffle = false; })
            .Train(Rings(64, seed: 1)));
        Assert.Equal(3, ex.Step);
        Assert.Contains("step 3", ex.Message, StringComparison.Ordinal);
        Assert.All(model.parameters(), p => Assert.True(p.isfinite().all().item<bool>()));
    }

    [Fact]
    public void Train_NaNLossWithSkipPolicy_SkipsTheStepAndContinues()
    {
        using Mlp model = TinyModels.Mlp(2, 8, 2, seed: 4);
        using TrainingRun run = FineTuner.For(model, PoisonedObjective(poisonCall: 3))
            .WithOptions(o => { o.Epochs = 1; o.BatchSize = 8; o.NonFiniteLoss = NonFiniteLossPolicy.SkipStep; })
            .Train(Rings(64, seed: 1));
        Assert.Equal(1, run.SkippedSteps);
        Assert.Equal(8, run.StepsCompleted);
        Assert.DoesNotContain(run.History, h => h.Step == 3);
        Assert.All(model.parameters(), p => Assert.True(p.isfinite().all().item<bool>()));
    }

    private static LossFunctionObjective<LabeledVector> PoisonedObjective(int poisonCall)
    {
        var inner = new VectorClassificationObjective();
        int calls = 0;
        return new LossFunctionObjective<LabeledVector>((m, batch, d) =>
        {
            Tensor loss = inner.SummedLoss(m, batch, d);
            return ++calls == poisonCall ? loss * double.NaN : loss;
        });
    }

    [Fact]
    public void Train_WithClipping_ReportsPreClipNormAndUpdateHasClippedNorm()
    {
        using Mlp model = TinyModels.Mlp(2, 8, 2, seed: 5);
        Tensor[] before = model.parameters().Select(p => p.detach().clone()).ToArray();
        using TrainingRun run = FineTuner.For(model, new VectorClassificationObjective())
            .WithOptions(o => { o.MaxSteps = 1; o.BatchSize = 64; o.LearningRate = 1; o.Optimizer = new SgdOptimizer(); o.Schedule = new ConstantSchedule(); o.MaxGradNorm = 0.01; })
            .Train(Rings(64, seed: 1));
        double updateNorm = Math.Sqrt(model.parameters().Select((p, i) => p.detach().sub(before[i]).square().sum().item<float>()).Sum());
        Assert.True(run.History[0].GradientNorm > 0.01, "the gradient was large enough to clip");
        Assert.Equal(0.01, updateNorm, tolerance: 1e-5);
    }

    [Fact]
    public void Train_Bf16_LearnsLikeFp32AndKeepsBf16Parameters()
    {
        double Final(ScalarType dtype)
        {
            using Mlp model = TinyModels.Mlp(2, 16, 2, seed: 1);
            using TrainingRun run = FineTuner.For(model, new VectorClassificationObjective())
                .WithOptions(o => { o.Epochs = 10; o.BatchSize = 32; o.LearningRate = 0.02; o.ParameterDType = dtype; })
                .Train(Rings(256, seed: 10));
            Assert.All(model.parameters(), p => Assert.Equal(dtype, p.dtype));
            return run.History.Skip(run.History.Count - 8).Average(h => h.Loss);
        }
        double fp32 = Final(ScalarType.Float32), bf16 = Final(ScalarType.BFloat16);
        Assert.True(Math.Abs(bf16 - fp32) < 0.1 * fp32 + 0.02, $"bf16 final loss {bf16} vs fp32 {fp32}");
    }

    [Fact]
    public void Train_WithValidation_RecordsBeforeAndAfterAndLossFalls()
    {
        using Mlp model = TinyModels.Mlp(2, 16, 2, seed: 1);
        using TrainingRun run = FineTuner.For(model, new VectorClassificationObjective())
            .WithOptions(o => { o.Epochs = 5; o.BatchSize = 32; o.LearningRate = 0.02; o.EvaluateEverySteps = 20; })
            .WithValidation(Rings(128, seed: 20))
            .Train(Rings(256, seed: 10));
        Assert.Equal(new long[] { 0, 20, 40 }, run.Evaluations.Select(e => e.Step));
        Assert.True(run.Evaluations[^1].Loss < run.Evaluations[0].Loss);
        Assert.Equal(128, run.Evaluations[0].Targets);
    }

    [Theory]
    [InlineData(1, 4)]  // 100 examples / batch 32 = 4 micro-batches = 4 steps per epoch (the last one short)
    [InlineData(3, 2)]  // 4 micro-batches with accumulation 3 = 2 steps per epoch (the second holds one micro-batch)
    public void Train_EvaluateEveryStepsZero_EvaluatesAtEveryEpochEnd(int accumulation, long stepsPerEpoch)
    {
        using Mlp model = TinyModels.Mlp(2, 8, 2, seed: 1);
        using TrainingRun run = FineTuner.For(model, new VectorClassificationObjective())
            .WithOptions(o => { o.Epochs = 8; o.BatchSize = 32; o.GradientAccumulationSteps = accumulation; })
            .WithValidation(Rings(40, seed: 20))
            .Train(Rings(100, seed: 10));
        // Before training, then after each of the 8 epochs (the last one is the run's final evaluation).
        Assert.Equal(Enumerable.Range(0, 9).Select(e => e * stepsPerEpoch), run.Evaluations.Select(e => e.Step));
    }

    [Fact]
    public void Train_MaxSteps_CyclesDataAndStopsExactly()
    {
        using Mlp model = TinyModels.Mlp(2, 4, 2, seed: 1);
        using TrainingRun run = FineTuner.For(model, new VectorClassificationObjective())
            .WithOptions(o => { o.MaxSteps = 7; o.BatchSize = 16; })
            .Train(Rings(32, seed: 1));
        Assert.Equal(7, run.History.Count);
        Assert.Equal(new[] { 1, 1, 2, 2, 3, 3, 4 }, run.History.Select(h => h.Epoch));
    }

    /// <summary>Reports synchronously on the training thread (System.Progress posts to the thread pool).</summary>
    internal sealed class SyncProgress(Action<TrainingProgress>? onReport = null) : IProgress<TrainingProgress>
    {
        public List<TrainingProgress> Reports { get; } = new();

        public void Report(TrainingProgress value)
        {
            Reports.Add(value);
            onReport?.Invoke(value);
        }
    }
}

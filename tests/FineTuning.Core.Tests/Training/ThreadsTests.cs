using System;
using System.Collections.Generic;
using FineTuning.Testing;
using FineTuning.Training;
using TorchSharp;
using Xunit;

namespace FineTuning.Core.Tests.Training;

/// <summary>
/// <c>TrainingOptions.Threads</c> changes libtorch's process-wide thread count for the run: these tests run alone
/// (no other test may see the count change under it).
/// </summary>
[Collection(nameof(GlobalGeneratorCollection))]
public sealed class ThreadsTests
{
    [Fact]
    public void Train_Threads_RunsStepsOnThatCountAndRestoresTheOldOneAfter()
    {
        int before = torch.get_num_threads();
        int wanted = before == 1 ? 2 : 1;
        using Mlp model = TinyModels.Mlp(2, 4, 2, seed: 1);
        var seen = new ThreadCounter();
        using TrainingRun run = FineTuner.For(model, new VectorClassificationObjective())
            .WithOptions(o =>
            {
                o.Threads = wanted;
                o.BatchSize = 4;
                o.HeapTrimEverySteps = 0;
            })
            .WithCallback(seen)
            .Train(TrainerTests.Rings(16, 1));

        Assert.Equal(4, seen.Steps.Count);
        Assert.All(seen.Steps, n => Assert.Equal(wanted, n));
        Assert.Equal(before, torch.get_num_threads());
    }

    [Fact]
    public void Train_ThreadsAndTheRunFails_StillRestoresTheOldCount()
    {
        int before = torch.get_num_threads();
        int wanted = before == 1 ? 2 : 1;
        using Mlp model = TinyModels.Mlp(2, 4, 2, seed: 1);
        var failing = new ThreadCounter { ThrowAtStep = 2 };
        var builder = FineTuner.For(model, new VectorClassificationObjective())
            .WithOptions(o =>
            {
                o.Threads = wanted;
                o.BatchSize = 4;
            })
            .WithCallback(failing);

        var ex = Assert.Throws<InvalidOperationException>(() => builder.Train(TrainerTests.Rings(16, 1)));
        Assert.Equal("callback failed at step 2", ex.Message);
        Assert.Equal(new[] { wanted, wanted }, failing.Steps);
        Assert.Equal(before, torch.get_num_threads());
    }

    [Fact]
    public void Train_ThreadsNull_LeavesLibTorchsSetting()
    {
        int before = torch.get_num_threads();
        using Mlp model = TinyModels.Mlp(2, 4, 2, seed: 1);
        var seen = new ThreadCounter();
        using TrainingRun run = FineTuner.For(model, new VectorClassificationObjective())
            .WithOptions(o => o.BatchSize = 8)
            .WithCallback(seen)
            .Train(TrainerTests.Rings(16, 1));

        Assert.Null(new TrainingOptions().Threads);
        Assert.Equal(new[] { before, before }, seen.Steps);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-2)]
    public void Train_ThreadsBelowOne_IsRefusedBeforeTraining(int threads)
    {
        int before = torch.get_num_threads();
        using Mlp model = TinyModels.Mlp(2, 4, 2, seed: 1);
        var ex = Assert.Throws<InvalidConfigurationException>(() => FineTuner.For(model, new VectorClassificationObjective())
            .WithOptions(o => o.Threads = threads)
            .Train(TrainerTests.Rings(8, 1)));

        string problem = Assert.Single(ex.Problems);
        Assert.Contains("Threads must be at least 1", problem, StringComparison.Ordinal);
        Assert.Contains($"(was {threads})", problem, StringComparison.Ordinal);
        Assert.Equal(before, torch.get_num_threads());
    }

    private sealed class ThreadCounter : ITrainingCallback
    {
        public List<int> Steps { get; } = new();

        public long ThrowAtStep { get; init; } = -1;

        public void OnStep(TrainingRun run, StepMetrics step)
        {
            Steps.Add(torch.get_num_threads());
            if (step.Step == ThrowAtStep) throw new InvalidOperationException($"callback failed at step {step.Step}");
        }
    }
}

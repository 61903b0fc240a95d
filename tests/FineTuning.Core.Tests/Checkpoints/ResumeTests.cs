using System;
using System.IO;
using System.Linq;
using System.Threading;
using FineTuning.Checkpoints;
using FineTuning.Core.Tests.Training;
using FineTuning.Testing;
using FineTuning.Training;
using Xunit;

namespace FineTuning.Core.Tests.Checkpoints;

public sealed class ResumeTests : IDisposable
{
    private readonly TempDirectory _dir = new("ckpt");

    public void Dispose() => _dir.Dispose();

    private static FineTuner<LabeledVector> Builder(Mlp model, IOptimizer optimizer, string? checkpoints) =>
        FineTuner.For(model, new VectorClassificationObjective()).WithOptions(o =>
        {
            o.MaxSteps = 12;
            o.BatchSize = 8;
            o.LearningRate = 0.01;
            o.Optimizer = optimizer;
            o.Schedule = new CosineSchedule();
            o.WarmupSteps = 2;
            o.CheckpointDirectory = checkpoints;
        });

    [Theory]
    [InlineData("adamw")]
    [InlineData("sgd")]
    public void CancelThenResume_ContinuesTheLossCurveBitForBit(string optimizerName)
    {
        IOptimizer optimizer = optimizerName == "adamw" ? new AdamWOptimizer(WeightDecay: 0.1) : new SgdOptimizer(Momentum: 0.9);
        var data = TrainerTests.Rings(40, seed: 3); // 5 micro-batches per epoch: the data cycles and reshuffles

        using Mlp straightModel = TinyModels.Mlp(2, 8, 2, seed: 1);
        using TrainingRun straight = Builder(straightModel, optimizer, null).Train(data);

        using Mlp model = TinyModels.Mlp(2, 8, 2, seed: 1);
        using var cts = new CancellationTokenSource();
        using (TrainingRun first = Builder(model, optimizer, _dir.Path)
                   .WithProgress(new TrainerTests.SyncProgress(p => { if (p.Step == 5) cts.Cancel(); }))
                   .Train(data, cts.Token))
        {
            Assert.True(first.Cancelled);
            Assert.Equal(5, first.StepsCompleted);
        }
        Assert.True(File.Exists(Path.Combine(_dir.Path, "checkpoint-5", TrainingCheckpoint.StateFileName)));

        using Mlp resumedModel = TinyModels.Mlp(2, 8, 2, seed: 99); // different weights: the checkpoint must overwrite them
        using TrainingRun resumed = Builder(resumedModel, optimizer, _dir.Path).ResumeFrom(_dir.Path).Train(data);

        Assert.Equal(straight.History.Select(h => h.Loss), resumed.History.Select(h => h.Loss));
        Assert.Equal(12, resumed.StepsCompleted);
        foreach (((string name, var p), (_, var q)) in straightModel.named_parameters().Zip(resumedModel.named_parameters()))
            Assert.True(p.equal(q).all().item<bool>(), $"{name} differs after resuming");
    }

    [Fact]
    public void CheckpointEverySteps_KeepsOnlyTheNewest()
    {
        using Mlp model = TinyModels.Mlp(2, 8, 2, seed: 1);
        using TrainingRun run = Builder(model, new AdamWOptimizer(), _dir.Path)
            .WithOptions(o => { o.CheckpointEverySteps = 3; o.KeepCheckpoints = 2; })
            .Train(TrainerTests.Rings(40, seed: 3));
        Assert.Equal(new[] { "checkpoint-12", "checkpoint-9" }, Directory.GetDirectories(_dir.Path).Select(Path.GetFileName).OrderBy(n => n, StringComparer.Ordinal));
        Assert.Equal(Path.Combine(_dir.Path, "checkpoint-12"), TrainingCheckpoint.Latest(_dir.Path));
    }

    [Fact]
    public void Resume_WithOtherSeedOrOtherModel_IsATypedError()
    {
        var data = TrainerTests.Rings(40, seed: 3);
        using (Mlp model = TinyModels.Mlp(2, 8, 2, seed: 1))
        using (Builder(model, new AdamWOptimizer(), _dir.Path).Train(data))
        {
        }

        using Mlp again = TinyModels.Mlp(2, 8, 2, seed: 1);
        var seed = Assert.Throws<CheckpointException>(() => Builder(again, new AdamWOptimizer(), null).WithOptions(o => o.Seed = 7).ResumeFrom(_dir.Path).Train(data));
        Assert.Contains("Seed", seed.Message, StringComparison.Ordinal);

        using Mlp wider = TinyModels.Mlp(2, 16, 2, seed: 1);
        var shape = Assert.Throws<CheckpointException>(() => Builder(wider, new AdamWOptimizer(), null).ResumeFrom(_dir.Path).Train(data));
        Assert.Contains("shape", shape.Message, StringComparison.Ordinal);

        Assert.Throws<CheckpointException>(() => Builder(again, new AdamWOptimizer(), null).ResumeFrom(Path.Combine(_dir.Path, "nothing-here")).Train(data));
    }
}

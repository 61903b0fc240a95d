using System;
using System.IO;
using System.Linq;
using FineTuning.Checkpoints;
using FineTuning.IO;
using FineTuning.Testing;
using FineTuning.Training;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Core.Tests.Checkpoints;

/// <summary>A checkpoint that does not fit on the disk: typed error, nothing half-written, the run handed back.</summary>
public sealed class FullDiskCheckpointTests
{
    // Mlp(64, 512, 64) has 66,112 fp32 parameters: a checkpoint holds them once (model.safetensors, 264 kB) and AdamW's
    // two moments (optimizer.safetensors, 529 kB), about 795 kB. A 2 MiB tmpfs takes two; the third fails half-way.
    private const int Inputs = 64, Hidden = 512, Classes = 64;

    private static LabeledVector[] Data()
    {
        var random = new Random(5);
        return Enumerable.Range(0, 32)
            .Select(i => new LabeledVector(Enumerable.Range(0, Inputs).Select(_ => (float)random.NextDouble() - 0.5f).ToArray(), i % 4))
            .ToArray();
    }

    private static FineTuner<LabeledVector> Builder(Mlp model, string? checkpoints) =>
        FineTuner.For(model, new VectorClassificationObjective()).WithOptions(o =>
        {
            o.MaxSteps = 6;
            o.BatchSize = 8;
            o.LearningRate = 0.01;
            o.CheckpointDirectory = checkpoints;
            o.CheckpointEverySteps = checkpoints is null ? 0 : 1;
            o.KeepCheckpoints = 10;
        });

    [SkippableFact]
    public void Train_DiskFullAtTheThirdCheckpoint_ThrowsCheckpointExceptionWithTheRunAndLeavesTheEarlierOnesIntact()
    {
        using SmallDisk disk = SmallDisk.Mount(2 << 20);
        string dir = Path.Combine(disk.Path, "run");
        using Mlp model = TinyModels.Mlp(Inputs, Hidden, Classes, seed: 1);

        var e = Assert.Throws<CheckpointException>(() => Builder(model, dir).Train(Data()));

        using TrainingRun run = e.Run!;
        Assert.Same(model, run.Model);
        Assert.Equal(3, run.StepsCompleted);
        Assert.Equal(3, run.History.Count);
        Assert.Equal(Path.Combine(dir, "checkpoint-3"), e.Folder);
        Assert.StartsWith($"Could not write checkpoint {Path.Combine(dir, "checkpoint-3")} after step 3 of 6", e.Message, StringComparison.Ordinal);
        Assert.IsType<SaveException>(e.InnerException);
        Assert.Equal(new[] { "checkpoint-1", "checkpoint-2" }, Directory.GetFileSystemEntries(dir).Select(Path.GetFileName).OrderBy(n => n, StringComparer.Ordinal));

        // The newest complete checkpoint resumes, and the resumed run ends where an uninterrupted one does, bit for bit.
        using Mlp straightModel = TinyModels.Mlp(Inputs, Hidden, Classes, seed: 1);
        using TrainingRun straight = Builder(straightModel, null).Train(Data());
        using Mlp resumedModel = TinyModels.Mlp(Inputs, Hidden, Classes, seed: 2);
        using TrainingRun resumed = Builder(resumedModel, null).ResumeFrom(dir).Train(Data());
        Assert.Equal(run.History.Take(2).Select(h => h.Loss), resumed.History.Take(2).Select(h => h.Loss));
        Assert.Equal(straight.History.Select(h => h.Loss), resumed.History.Select(h => h.Loss));
        foreach (((string name, var p), (_, var q)) in straightModel.named_parameters().Zip(resumedModel.named_parameters()))
            Assert.True(p.equal(q).all().item<bool>(), $"{name} differs after resuming");
    }
}

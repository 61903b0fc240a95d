using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using FineTuning.Testing;
using FineTuning.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Core.Tests.Training;

public sealed class StepAwareObjectiveTests : IDisposable
{
    private readonly TempDirectory _dir = new("step-aware");

    public void Dispose() => _dir.Dispose();

    /// <summary>The vector classifier's loss, logging "begin N", "count" and "loss" calls in order.</summary>
    private sealed class Recording : ITrainingObjective<LabeledVector>, IStepAwareObjective
    {
        private readonly VectorClassificationObjective _inner = new();

        public List<string> Log { get; } = new();

        public void BeginStep(long step) => Log.Add($"begin {step}");

        public long CountTargets(IReadOnlyList<LabeledVector> examples)
        {
            Log.Add("count");
            return _inner.CountTargets(examples);
        }

        public Tensor SummedLoss(nn.Module model, IReadOnlyList<LabeledVector> examples, Device device)
        {
            Log.Add("loss");
            return _inner.SummedLoss(model, examples, device);
        }
    }

    private static FineTuner<LabeledVector> Builder(Mlp model, Recording objective, string? checkpoints, string? resume = null)
    {
        FineTuner<LabeledVector> builder = FineTuner.For(model, objective).WithOptions(o =>
        {
            o.MaxSteps = 4;
            o.BatchSize = 8;
            o.GradientAccumulationSteps = 2;
            o.CheckpointDirectory = checkpoints;
            o.CheckpointEverySteps = checkpoints is null ? 0 : 2;
        });
        return resume is null ? builder : builder.ResumeFrom(resume);
    }

    [Fact]
    public void Train_StepAwareObjective_AnnouncedBeforeEachComputedStepsMicroBatches_AndFromTheCheckpointOnResume()
    {
        var data = TrainerTests.Rings(32, seed: 3);
        var straight = new Recording();
        using (Mlp model = TinyModels.Mlp(2, 8, 2, seed: 1))
        using (Builder(model, straight, _dir.Path).Train(data))
        {
        }
        string[] step = { "count", "count", "loss", "loss" };
        Assert.Equal(Enumerable.Range(1, 4).SelectMany(s => step.Prepend($"begin {s}")), straight.Log);

        var resumed = new Recording();
        using Mlp other = TinyModels.Mlp(2, 8, 2, seed: 1);
        using (Builder(other, resumed, null, Path.Combine(_dir.Path, "checkpoint-2")).Train(data))
        {
        }
        Assert.Equal(Enumerable.Range(3, 2).SelectMany(s => step.Prepend($"begin {s}")), resumed.Log);
    }
}

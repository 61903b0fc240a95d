using System;
using System.Linq;
using FineTuning.Training;

namespace FineTuning.Testing;

/// <summary>
/// The training run that the fault tests interrupt: the child process (tests/FineTuning.FaultChild) runs it with a
/// checkpoint after every step and is killed; the test resumes it and compares with the same run uninterrupted.
/// </summary>
public static class FaultScenarios
{
    /// <summary>Steps of the run: more than a child gets through before it is killed.</summary>
    public const int CheckpointSteps = 3000;

    /// <summary>A new model for the run (the same weights every time).</summary>
    public static Mlp CheckpointModel() => TinyModels.Mlp(16, 64, 4, seed: 1);

    /// <summary>64 seeded examples in 16 dimensions, 4 classes.</summary>
    public static LabeledVector[] CheckpointData()
    {
        var random = new Random(9);
        return Enumerable.Range(0, 64)
            .Select(i => new LabeledVector(Enumerable.Range(0, 16).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray(), i % 4))
            .ToArray();
    }

    /// <summary>The run: AdamW, batch 8, checkpoints every step into <paramref name="checkpoints"/> (keeping 2) when given.</summary>
    public static FineTuner<LabeledVector> CheckpointRun(Mlp model, string? checkpoints, int maxSteps = CheckpointSteps) =>
        FineTuner.For(model, new VectorClassificationObjective()).WithOptions(o =>
        {
            o.MaxSteps = maxSteps;
            o.BatchSize = 8;
            o.LearningRate = 0.003;
            o.LogEverySteps = 0;
            o.CheckpointDirectory = checkpoints;
            o.CheckpointEverySteps = checkpoints is null ? 0 : 1;
            o.KeepCheckpoints = 2;
        });
}

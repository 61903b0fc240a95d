using System;
using System.IO;
using System.Linq;
using System.Threading;
using FineTuning.Core.Tests.Training;
using FineTuning.Evaluation;
using FineTuning.Testing;
using FineTuning.Training;
using Xunit;

namespace FineTuning.Core.Tests.Evaluation;

public sealed class EvaluationResumeTests : IDisposable
{
    private readonly TempDirectory _dir = new("eval-ckpt");

    public void Dispose() => _dir.Dispose();

    private static FineTuner<LabeledVector> Builder(Mlp model, string? checkpoints) =>
        FineTuner.For(model, new VectorClassificationObjective())
            .WithOptions(o => { o.MaxSteps = 8; o.BatchSize = 8; o.LearningRate = 0.05; o.EvaluateEverySteps = 2; o.CheckpointDirectory = checkpoints; o.LogEverySteps = 0; })
            .WithValidation(TrainerTests.Rings(24, seed: 4));

    [Fact]
    public void CancelThenResume_EvaluationsWithTheirMetricsEqualTheUninterruptedRun()
    {
        var data = TrainerTests.Rings(40, seed: 3);
        using Mlp straightModel = TinyModels.Mlp(2, 8, 2, seed: 1);
        using TrainingRun straight = Builder(straightModel, null).Train(data);

        using Mlp model = TinyModels.Mlp(2, 8, 2, seed: 1);
        using var cts = new CancellationTokenSource();
        using (Builder(model, _dir.Path).WithProgress(new TrainerTests.SyncProgress(p => { if (p.Step == 4) cts.Cancel(); })).Train(data, cts.Token))
        {
        }
        using Mlp resumedModel = TinyModels.Mlp(2, 8, 2, seed: 1);
        using TrainingRun resumed = Builder(resumedModel, _dir.Path).ResumeFrom(_dir.Path).Train(data);

        // Cancelled at an evaluation step (else the cancelled run adds its own final evaluation). Metrics (accuracy,
        // macro_f1, train_loss, generalization_gap) went through trainer_state.json and back.
        Assert.Equal(straight.Evaluations, resumed.Evaluations);
        Assert.Contains(MetricNames.MacroF1, resumed.Evaluations[0].Metrics.Keys);
        Assert.Contains(MetricNames.TrainLoss, resumed.Evaluations[^1].Metrics.Keys);
    }
}

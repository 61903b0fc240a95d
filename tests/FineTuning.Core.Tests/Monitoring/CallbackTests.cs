using System.Linq;
using FineTuning.Monitoring;
using FineTuning.Training;
using Xunit;

namespace FineTuning.Core.Tests.Monitoring;

public sealed class CallbackTests
{
    [Fact]
    public void Train_WithCallback_CallsInStepOrderWithEvaluationsAndWarningsAfterTheirStep()
    {
        var recorder = new ScriptedRun.Recorder();
        using TrainingRun run = ScriptedRun.Train(b => b.WithCallback(new ScriptedRun.WarningInjector(3)).WithCallback(recorder));

        Assert.Equal(
            new[] { "begin", "eval:0", "step:1", "step:2", "eval:2", "step:3", "warning:3", "step:4", "eval:4", "step:5", "step:6", "eval:6", "end" },
            recorder.Calls);
        Assert.Single(run.Warnings);
    }

    [Fact]
    public void WithCallback_LaterWithCalls_KeepTheCallbacks()
    {
        var recorder = new ScriptedRun.Recorder();
        using var model = Testing.TinyModels.Mlp(2, 4, 2, seed: 1);
        FineTuner<LabeledVector> builder = FineTuner.For(model, new VectorClassificationObjective())
            .WithCallback(recorder)
            .WithOptions(o => o.Epochs = 2)
            .WithProgress(new Training.TrainerTests.SyncProgress())
            .WithValidation(Training.TrainerTests.Rings(4, seed: 1))
            .ResumeFrom("somewhere");

        Assert.Same(recorder, Assert.Single(builder.Callbacks));
    }

    [Fact]
    public void Train_RunOptions_AreACopyOfTheOptionsUsed()
    {
        using TrainingRun run = ScriptedRun.Train(b => b, o => o.LearningRate = 0.0125);

        Assert.Equal(0.0125, run.Options.LearningRate);
        run.Options.LearningRate = 1;
        Assert.Equal(0.0125, run.Options.LearningRate);
        Assert.Equal(6, run.Options.MaxSteps);
    }

    [Fact]
    public void Validate_BlankLoggingDirectory_IsReported()
    {
        using var model = Testing.TinyModels.Mlp(2, 4, 2, seed: 1);
        var problems = FineTuner.For(model, new VectorClassificationObjective())
            .WithOptions(o => o.LoggingDirectory = " ")
            .Validate(Training.TrainerTests.Rings(4, seed: 1));

        Assert.Contains(problems, p => p.Contains(nameof(TrainingOptions.LoggingDirectory), System.StringComparison.Ordinal));
    }

    [Fact]
    public void Train_OwnTrainingMeter_ReplacesTheDefaultOne()
    {
        using var meter = new TrainingMeter();
        var recorder = new ScriptedRun.Recorder();
        using TrainingRun run = ScriptedRun.Train(b => b.WithCallback(meter).WithCallback(recorder));

        Assert.Equal(6, recorder.Calls.Count(c => c.StartsWith("step:", System.StringComparison.Ordinal)));
    }
}

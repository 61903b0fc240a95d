using System;
using System.Collections.Generic;
using FineTuning.Core.Tests.Training;
using FineTuning.Testing;
using FineTuning.Training;

namespace FineTuning.Core.Tests.Monitoring;

/// <summary>A tiny MLP trained for a few steps on the rings with a validation set, for the monitoring outputs.</summary>
internal static class ScriptedRun
{
    /// <summary>Six steps, an evaluation every two (steps 0, 2, 4, 6); <paramref name="configure"/> adds callbacks or options.</summary>
    public static TrainingRun Train(Func<FineTuner<LabeledVector>, FineTuner<LabeledVector>> configure, Action<TrainingOptions>? options = null)
    {
        using Mlp model = TinyModels.Mlp(2, 8, 2, seed: 5);
        FineTuner<LabeledVector> builder = FineTuner.For(model, new VectorClassificationObjective())
            .WithOptions(o =>
            {
                o.MaxSteps = 6;
                o.BatchSize = 8;
                o.LearningRate = 0.05;
                o.EvaluateEverySteps = 2;
                options?.Invoke(o);
            })
            .WithValidation(TrainerTests.Rings(16, seed: 2));
        return configure(builder).Train(TrainerTests.Rings(32, seed: 1));
    }

    /// <summary>Adds a warning to the run at steps listed in <paramref name="atSteps"/>, as evaluation code does (through the run's list).</summary>
    internal sealed class WarningInjector(params long[] atSteps) : ITrainingCallback
    {
        public void OnStep(TrainingRun run, StepMetrics step)
        {
            if (Array.IndexOf(atSteps, step.Step) >= 0) run.WarningList.Add(new TrainingWarning("overfitting", step.Step, $"scripted at step {step.Step}"));
        }
    }

    /// <summary>Records every call, as "kind:step".</summary>
    internal sealed class Recorder : ITrainingCallback
    {
        public List<string> Calls { get; } = new();

        public void OnTrainBegin(TrainingRun run) => Calls.Add("begin");

        public void OnStep(TrainingRun run, StepMetrics step) => Calls.Add($"step:{step.Step}");

        public void OnEvaluate(TrainingRun run, EvaluationMetrics evaluation) => Calls.Add($"eval:{evaluation.Step}");

        public void OnWarning(TrainingRun run, TrainingWarning warning) => Calls.Add($"warning:{warning.Step}");

        public void OnTrainEnd(TrainingRun run) => Calls.Add("end");
    }
}

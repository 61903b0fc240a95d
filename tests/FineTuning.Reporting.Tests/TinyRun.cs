using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using FineTuning.Testing;
using FineTuning.Training;

namespace FineTuning.Reporting.Tests;

/// <summary>A real run of a tiny MLP on a few memorised points, then decorated as evaluation code would decorate it.</summary>
internal static class TinyRun
{
    /// <summary>Three points per class on a line, labels that a small MLP memorises; a validation set with other points.</summary>
    public static List<LabeledVector> Points(int count, int seed)
    {
        var random = new Random(seed);
        var data = new List<LabeledVector>(count);
        for (int i = 0; i < count; i++) data.Add(new LabeledVector(new[] { (float)random.NextDouble() * 4 - 2, (float)random.NextDouble() * 4 - 2 }, random.Next(2)));
        return data;
    }

    public static TrainingRun Train(Func<FineTuner<LabeledVector>, FineTuner<LabeledVector>>? configure = null, int steps = 8)
    {
        using Mlp model = TinyModels.Mlp(2, 16, 2, seed: 7);
        FineTuner<LabeledVector> builder = FineTuner.For(model, new VectorClassificationObjective())
            .WithOptions(o =>
            {
                o.MaxSteps = steps;
                o.BatchSize = 6;
                o.LearningRate = 0.05;
                o.EvaluateEverySteps = 2;
            })
            .WithValidation(Points(12, seed: 2));
        return (configure?.Invoke(builder) ?? builder).Train(Points(6, seed: 1));
    }

    /// <summary>Adds named metrics to every evaluation and two warnings, through the run's lists, as the evaluation code does.</summary>
    public static TrainingRun WithMetricsAndWarnings(TrainingRun run)
    {
        for (int i = 0; i < run.EvaluationList.Count; i++)
        {
            EvaluationMetrics e = run.EvaluationList[i];
            run.EvaluationList[i] = e with { Metrics = ImmutableDictionary<string, double>.Empty.Add("accuracy", 0.5 + 0.05 * i).Add("mean_token_accuracy", 0.9 - 0.1 * i) };
        }
        run.WarningList.Add(new TrainingWarning("overfitting", 4, "Validation loss rose for 2 evaluations <while> training loss fell."));
        run.WarningList.Add(new TrainingWarning("forgetting", 8, "Perplexity on general text rose by 12 %."));
        return run;
    }
}

// Full fine-tuning in a few seconds on a CPU: pretrain a small classifier on one task, then fine-tune every
// weight on a related task and watch the loss fall, with a validation set that also measures forgetting.
using System;
using System.Collections.Generic;
using System.Linq;
using FineTuning;
using FineTuning.Examples;
using FineTuning.Examples.FullFineTuning;
using FineTuning.Monitoring;
using FineTuning.Training;
using TorchSharp;

torch.set_num_threads(Math.Min(2, Environment.ProcessorCount));
using var model = new Classifier(inputs: 2, hidden: 32, classes: 3, seed: 7);

// "Pretraining": three classes in three rings.
List<LabeledVector> pretrain = Tasks.Rings(1200, rotation: 0, seed: 1);
using (FineTuner.For(model, new VectorClassificationObjective())
           .WithOptions(o => { o.Epochs = 20; o.BatchSize = 64; o.LearningRate = 1e-2; })
           .Train(pretrain))
{
}

// The new task: the same rings, but the class boundaries are rotated spirals (the labels depend on the angle).
List<LabeledVector> train = Tasks.Spirals(1200, seed: 2), validation = Tasks.Spirals(400, seed: 3);
List<LabeledVector> oldTask = Tasks.Rings(400, rotation: 0, seed: 4);
Console.WriteLine($"Before fine-tuning: new-task accuracy {Accuracy(validation):P1}, old-task accuracy {Accuracy(oldTask):P1}");
Console.WriteLine();

var progress = new ConsoleProgressBar();
using TrainingRun run = FineTuner.For(model, new VectorClassificationObjective())
    .WithOptions(o =>
    {
        o.Epochs = 10;
        o.BatchSize = 32;
        o.GradientAccumulationSteps = 2;
        o.LearningRate = 5e-3;
        o.WarmupRatio = 0.05;
        o.Schedule = new CosineSchedule();
        o.Optimizer = new AdamWOptimizer(WeightDecay: 0.01);
        o.EvaluateEverySteps = 25;
    })
    .WithValidation(validation)
    .WithProgress(progress)
    .Train(train);
progress.Finish();

Console.WriteLine();
Console.WriteLine("step   train loss   validation loss");
foreach (EvaluationMetrics e in run.Evaluations)
{
    double trainLoss = e.Step == 0 ? double.NaN : run.History.Where(h => h.Step <= e.Step).TakeLast(20).Average(h => h.Loss);
    Console.WriteLine($"{e.Step,4}   {(double.IsNaN(trainLoss) ? "     -" : trainLoss.ToString("F4")),10}   {e.Loss,15:F4}");
}
Console.WriteLine();
Console.WriteLine($"After {run.StepsCompleted} steps in {run.Elapsed.TotalSeconds:F1} s: new-task accuracy {Accuracy(validation):P1}, " +
                  $"old-task accuracy {Accuracy(oldTask):P1} (forgetting: full fine-tuning changes every weight)");

double Accuracy(IReadOnlyList<LabeledVector> data) => VectorClassificationObjective.Accuracy(model, data);

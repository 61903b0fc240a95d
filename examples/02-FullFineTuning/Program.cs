// Full fine-tuning in a few seconds on a CPU: pretrain a small classifier on one task, then fine-tune every
// weight on a related task and watch the loss fall, with a validation set that also measures forgetting.
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using FineTuning;
using FineTuning.Evaluation;
using FineTuning.Examples;
using FineTuning.Examples.FullFineTuning;
using FineTuning.Monitoring;
using FineTuning.Reporting;
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
// The built-in forgetting check measures perplexity on general text (language models); for this classifier the old
// task's accuracy is the forgetting measure, so it is the one number computed here by hand.
double oldBefore = Accuracy(oldTask);

string output = args.Length > 0 ? args[0] : Path.Combine(Path.GetTempPath(), "finetuning-02");
var report = new ReportCallback(Path.Combine(output, "report"), new TrainingReportOptions { Title = "Full fine-tuning: rings to spirals" });
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
        o.LoggingDirectory = Path.Combine(output, "logs");
    })
    .WithValidation(validation) // loss, accuracy, macro-F1 and the train/validation gap at step 0, every 25 steps and at the end
    .WithProgress(progress)
    .WithCallback(report)
    .Train(train);
progress.Finish();

Console.WriteLine();
Console.WriteLine("step   train loss   validation loss   accuracy   macro-F1");
foreach (EvaluationMetrics e in run.Evaluations)
{
    string trainLoss = e.Metrics.TryGetValue(MetricNames.TrainLoss, out double t) ? t.ToString("F4") : "     -";
    Console.WriteLine($"{e.Step,4}   {trainLoss,10}   {e.Loss,15:F4}   {e.Metrics[MetricNames.Accuracy],8:P1}   {e.Metrics[MetricNames.MacroF1],8:F3}");
}
Console.WriteLine();
Console.WriteLine($"After {run.StepsCompleted} steps in {run.Elapsed.TotalSeconds:F1} s: new-task accuracy " +
                  $"{run.Evaluations[0].Metrics[MetricNames.Accuracy]:P1} -> {run.Evaluations[^1].Metrics[MetricNames.Accuracy]:P1}, " +
                  $"old-task accuracy {oldBefore:P1} -> {Accuracy(oldTask):P1} (forgetting: full fine-tuning changes every weight)");
foreach (TrainingWarning w in run.Warnings) Console.WriteLine($"warning at step {w.Step} ({w.Code}): {w.Message}");
Console.WriteLine($"Report: {report.LastReportPath}");

double Accuracy(IReadOnlyList<LabeledVector> data) => VectorClassificationObjective.Accuracy(model, data);

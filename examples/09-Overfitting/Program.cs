// Overfitting, seen and stopped: full fine-tuning of stories260K (Karpathy's tinyllamas, LLaMA architecture) on four
// stories for up to 60 epochs, with six other stories as the validation set. The training loss keeps falling while the
// validation loss turns and rises: EarlyStopping ends the run a few evaluations after the best one, LoadBestAtEnd puts
// the best weights back, and the report (report.html with its charts) shows why. The run also writes metrics.jsonl and
// a TensorBoard event file (`tensorboard --logdir <out>/logs`).
// Needs FINETUNING_MODELS_DIR pointing at a folder containing stories260K/. Options: `--out <folder>` (default
// ./overfitting-output), `--epochs <n>` (default 60), `--lr <rate>` (default 4e-4).
using System;
using System.IO;
using System.Linq;
using FineTuning;
using FineTuning.Examples;
using FineTuning.Examples.Overfitting;
using FineTuning.Models;
using FineTuning.Models.Llama;
using FineTuning.Models.Tokenizers;
using FineTuning.Monitoring;
using FineTuning.Reporting;
using FineTuning.Training;
using TorchSharp;

torch.set_num_threads(Math.Min(2, Environment.ProcessorCount));
if (TinyStoriesModelFolder.Find() is not string modelDir) return 1;
string output = Path.GetFullPath(Option("--out") ?? "overfitting-output");
int epochs = int.Parse(Option("--epochs") ?? "60", System.Globalization.CultureInfo.InvariantCulture);

using LlamaForCausalLM model = Llama2CCheckpoint.Load(Path.Combine(modelDir, "stories260K.bin"));
Llama2CTokenizer tokenizer = Llama2CTokenizer.Load(Path.Combine(modelDir, "tok512.bin"), model.Config.VocabSize);
TokenSequence Encode(string story) => TokenSequence.ForLanguageModeling(tokenizer.Encode(story, addBos: true, addEos: true).Select(t => (long)t).ToArray());

var progress = new ConsoleProgressBar();
var report = new ReportCallback(Path.Combine(output, "report"), new TrainingReportOptions { Title = "Overfitting demo: stories260K on four stories" });
using TrainingRun run = FineTuner.For(model)
    .WithOptions(o =>
    {
        o.Epochs = epochs;
        o.BatchSize = 4;                        // the whole training set: one step per epoch
        o.LearningRate = double.Parse(Option("--lr") ?? "4e-4", System.Globalization.CultureInfo.InvariantCulture);
        o.Schedule = new ConstantSchedule();
        o.EvaluateEverySteps = 0;               // evaluate at every epoch end
        o.EarlyStopping = new EarlyStopping { Patience = 4 };
        o.LoadBestAtEnd = true;
        o.LoggingDirectory = Path.Combine(output, "logs");
        o.LogEverySteps = 0;
    })
    .WithValidation(Stories.Validation.Select(Encode).ToArray())
    .WithProgress(progress)
    .WithCallback(report)
    .Train(Stories.Train.Select(Encode).ToArray());
progress.Finish();

EvaluationMetrics first = run.Evaluations[0], last = run.Evaluations[^1];
Console.WriteLine($"Training loss {run.History[0].Loss:F3} -> {run.FinalLoss:F3} over {run.StepsCompleted} of {run.TotalSteps} planned steps.");
Console.WriteLine($"Validation loss {first.Loss:F3} (before) -> best {run.BestEvaluation?.Loss:F3} at step {run.BestEvaluation?.Step} -> {last.Loss:F3} at step {last.Step}.");
Console.WriteLine(run.StoppedEarly
    ? $"Stopped early: the validation loss did not improve for {run.Options.EarlyStopping!.Patience} evaluations; the model holds the weights of step {run.BestEvaluation?.Step}."
    : "The run did not stop early (more epochs, or a higher learning rate, make it overfit sooner).");
foreach (TrainingWarning warning in run.Warnings) Console.WriteLine($"warning ({warning.Code}, step {warning.Step}): {warning.Message}");
Console.WriteLine($"Report: {report.LastReportPath}");
Console.WriteLine($"Metrics log: {Path.Combine(output, "logs", JsonlMetricsWriter.DefaultFileName)} (TensorBoard: tensorboard --logdir {Path.Combine(output, "logs")})");
return 0;

string? Option(string name)
{
    int at = Array.IndexOf(args, name);
    return at >= 0 && at + 1 < args.Length ? args[at + 1] : null;
}

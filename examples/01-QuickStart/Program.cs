// Quick start: LoRA-fine-tune the real pretrained all-MiniLM-L6-v2 encoder into a spam/ham classifier on real
// e-mail (a committed SpamAssassin subset), compare it with baselines on held-out mail, save the adapter in
// PEFT's format and reload it. Every run measures itself (validation accuracy and macro-F1 at step 0 and the end)
// and writes an HTML report, one folder per configuration under the output folder.
// Usage: dotnet run --project examples/01-QuickStart -c Release [-- <output folder; default under the temp folder>] [--full] [--qlora]
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using FineTuning;
using FineTuning.Evaluation;
using FineTuning.Examples;
using FineTuning.Examples.QuickStart;
using FineTuning.Lora;
using FineTuning.Lora.Peft;
using FineTuning.Models.Bert;
using FineTuning.Monitoring;
using FineTuning.Quantization;
using FineTuning.Reporting;
using FineTuning.Training;
using TorchSharp;

bool full = args.Contains("--full"), qlora = args.Contains("--qlora");
string output = Path.GetFullPath(args.FirstOrDefault(a => !a.StartsWith("--", StringComparison.Ordinal)) ?? Path.Combine(Path.GetTempPath(), "finetuning-01"));
torch.set_num_threads(Math.Min(2, Environment.ProcessorCount));
torch.manual_seed(0); // an application may seed the global generator (classifier head init, dropout)

string here = AppContext.BaseDirectory;
BertOnnxCheckpoint checkpoint = MiniLM.Load(Path.Combine(here, "models", "MiniLM"));
WordPieceTokenizer tokenizer = checkpoint.CreateTokenizer();
List<TextClassificationExample> Load(string split) => Mail.Read(Path.Combine(here, "data", split + ".jsonl"))
    .Select(m => new TextClassificationExample(tokenizer.Encode(m.Text, maxLength: 128), m.Label)).ToList();
List<TextClassificationExample> train = Load("train"), validation = Load("validation"), test = Load("test");
Console.WriteLine($"all-MiniLM-L6-v2: {checkpoint.Config.NumHiddenLayers} layers, hidden {checkpoint.Config.HiddenSize}; " +
                  $"mails: {train.Count} train, {validation.Count} validation, {test.Count} test (balanced spam/ham)");

var results = new List<(string Name, double Accuracy, string Validation, string Trainable, TimeSpan Time, string Memory)>();
var reports = new List<string>();
int majority = train.GroupBy(e => e.Label).OrderByDescending(g => g.Count()).First().Key;
results.Add(("majority class", test.Count(e => e.Label == majority) / (double)test.Count, "-", "-", TimeSpan.Zero, ""));
long pretrained;
using (BertForSequenceClassification probe = NewModel()) pretrained = probe.parameters().Sum(p => p.numel());

BertForSequenceClassification NewModel() => new(checkpoint.CreateModel(), numLabels: 2, BertClassifierPooling.Mean);

// 1. Frozen encoder, trained linear head.
using (BertForSequenceClassification model = NewModel())
{
    foreach (var p in model.Encoder.parameters()) p.requires_grad = false;
    string share = LoRA.Summary(model).ToString();
    Result r = Train(model, FineTuner.For(model), "frozen encoder + head", "frozen-encoder", learningRate: 2e-3, epochs: 3);
    results.Add(("frozen encoder + head", r.TestAccuracy, r.Validation, Percent(share), r.Time, r.Memory));
}

// 2. LoRA on the attention projections, head trained fully (modules_to_save), as PEFT users do it.
string adapterDir = Path.Combine(Path.GetTempPath(), "finetuning-quickstart-adapter");
int[] loraPredictions;
using (BertForSequenceClassification model = NewModel())
{
    FineTuner<TextClassificationExample> tuner = FineTuner.For(model)
        .WithLoRA(r: 8, alpha: 16, targets: LoRATargets.Names("query", "key", "value", "dense"), configure: o => o.ModulesToSave.Add("classifier"));
    Result r = Train(model, tuner, "LoRA r=8", "lora", learningRate: 1e-3, epochs: 3);
    loraPredictions = model.Predict(test);
    results.Add(("LoRA r=8 (+ head)", r.TestAccuracy, r.Validation, Percent(LoRA.Summary(model).ToString()), r.Time, r.Memory));
    PeftAdapter.Save(model, adapterDir, taskType: "SEQ_CLS");
}

// 3. Optional: QLoRA, the same LoRA over an NF4-quantized encoder (double-quantized scales).
if (qlora)
{
    using BertForSequenceClassification model = NewModel();
    FineTuner<TextClassificationExample> tuner = FineTuner.For(model)
        .WithQLoRA(new QuantizationOptions { Type = QuantizationType.NF4, DoubleQuantization = true },
            r: 8, alpha: 16, targets: LoRATargets.Names("query", "key", "value", "dense"), configure: o => o.ModulesToSave.Add("classifier"));
    Result r = Train(model, tuner, "QLoRA r=8 over NF4", "qlora", learningRate: 1e-3, epochs: 3);
    results.Add(("QLoRA r=8 (NF4 base)", r.TestAccuracy, r.Validation, Percent(LoRA.Summary(model).ToString()), r.Time, r.Memory));
}

// 4. Optional: full fine-tuning of every weight.
if (full)
{
    using BertForSequenceClassification model = NewModel();
    Result r = Train(model, FineTuner.For(model), "full fine-tuning", "full", learningRate: 5e-5, epochs: 3);
    results.Add(("full fine-tuning", r.TestAccuracy, r.Validation, "100%", r.Time, r.Memory));
}

Console.WriteLine();
Console.WriteLine($"{"held-out test mails (" + test.Count + ")",-28} {"accuracy",9} {"validation acc. / macro-F1",-34} {"trainable",10} {"time",8}  {"weight bytes/param",-18}");
foreach (var r in results)
    Console.WriteLine($"{r.Name,-28} {r.Accuracy,9:P1} {r.Validation,-34} {r.Trainable,10} {(r.Time == TimeSpan.Zero ? "-" : r.Time.TotalSeconds.ToString("F0") + " s"),8}  {r.Memory}");
if (!full || !qlora) Console.WriteLine("(run with -- --full --qlora to add full fine-tuning and QLoRA)");

// The adapter is a PEFT folder: reload it onto a fresh copy of the pretrained model.
using (BertForSequenceClassification reloaded = NewModel())
{
    PeftAdapter.Load(reloaded, adapterDir);
    int[] again = reloaded.Predict(test);
    Console.WriteLine();
    Console.WriteLine($"Adapter saved to {adapterDir} ({string.Join(", ", Directory.GetFiles(adapterDir).Select(Path.GetFileName))}, " +
                      $"{Directory.GetFiles(adapterDir).Sum(f => new FileInfo(f).Length) / 1024} KiB); reloaded: " +
                      $"{again.Zip(loraPredictions).Count(p => p.First == p.Second)}/{test.Count} predictions identical");
}
Console.WriteLine();
reports.ForEach(r => Console.WriteLine($"Report: {r}"));

// Trains one configuration; its run measures validation accuracy and macro-F1 at step 0 and at the end, and writes the
// report into its own folder. The test accuracy comes from the same builder's Evaluate (the run's task metrics on data
// it never saw during training).
Result Train(BertForSequenceClassification model, FineTuner<TextClassificationExample> tuner, string name, string folder, double learningRate, int epochs)
{
    Console.WriteLine();
    Console.WriteLine($"Training: {name}");
    var progress = new ConsoleProgressBar();
    var report = new ReportCallback(Path.Combine(output, folder, "report"), new TrainingReportOptions { Title = $"Quick start: MiniLM spam filter, {name}" });
    var clock = Stopwatch.StartNew();
    tuner = tuner
        .WithOptions(o =>
        {
            o.Epochs = epochs;
            o.BatchSize = 16;
            o.LearningRate = learningRate;
            o.WarmupRatio = 0.1;
            o.LogEverySteps = 0;
            o.LoggingDirectory = Path.Combine(output, folder, "logs");
        })
        .WithValidation(validation);
    using TrainingRun run = tuner.WithProgress(progress).WithCallback(report).Train(train);
    progress.Finish();
    TimeSpan time = clock.Elapsed;
    EvaluationMetrics before = run.Evaluations[0], after = run.Evaluations[^1];
    Console.WriteLine($"  validation loss {before.Loss:F3} -> {after.Loss:F3}, accuracy {before.Metrics[MetricNames.Accuracy]:P1} -> {after.Metrics[MetricNames.Accuracy]:P1}, " +
                      $"macro-F1 {before.Metrics[MetricNames.MacroF1]:F3} -> {after.Metrics[MetricNames.MacroF1]:F3}");
    foreach (TrainingWarning w in run.Warnings) Console.WriteLine($"  warning at step {w.Step} ({w.Code}): {w.Message}");
    reports.Add(report.LastReportPath!);
    double testAccuracy = tuner.Evaluate(test).Metrics[MetricNames.Accuracy];
    string validationColumn = $"{before.Metrics[MetricNames.Accuracy],6:P1} -> {after.Metrics[MetricNames.Accuracy],-6:P1} / {before.Metrics[MetricNames.MacroF1]:F2} -> {after.Metrics[MetricNames.MacroF1]:F2}";
    return new Result(testAccuracy, validationColumn, time, $"{Memory.WeightBytesPerParameter(model, pretrained):F2}");
}

static string Percent(string summary) => summary[(summary.LastIndexOf(':') + 2)..] + "%";

/// <summary>What the table shows of one trained configuration.</summary>
internal sealed record Result(double TestAccuracy, string Validation, TimeSpan Time, string Memory);

// Quick start: LoRA-fine-tune the real pretrained all-MiniLM-L6-v2 encoder into a spam/ham classifier on real
// e-mail (a committed SpamAssassin subset), compare it with baselines on held-out mail, save the adapter in
// PEFT's format and reload it.   Usage: dotnet run --project examples/01-QuickStart -c Release [-- --full] [--qlora]
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using FineTuning;
using FineTuning.Examples;
using FineTuning.Examples.QuickStart;
using FineTuning.Lora;
using FineTuning.Lora.Peft;
using FineTuning.Models.Bert;
using FineTuning.Monitoring;
using FineTuning.Quantization;
using FineTuning.Training;
using TorchSharp;

bool full = args.Contains("--full"), qlora = args.Contains("--qlora");
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

var results = new List<(string Name, double Accuracy, string Trainable, TimeSpan Time, string Memory)>();
int majority = train.GroupBy(e => e.Label).OrderByDescending(g => g.Count()).First().Key;
results.Add(("majority class", test.Count(e => e.Label == majority) / (double)test.Count, "-", TimeSpan.Zero, ""));
long pretrained;
using (BertForSequenceClassification probe = NewModel()) pretrained = probe.parameters().Sum(p => p.numel());

BertForSequenceClassification NewModel() => new(checkpoint.CreateModel(), numLabels: 2, BertClassifierPooling.Mean);

// 1. Frozen encoder, trained linear head.
using (BertForSequenceClassification model = NewModel())
{
    foreach (var p in model.Encoder.parameters()) p.requires_grad = false;
    string share = LoRA.Summary(model).ToString();
    (TimeSpan time, string memory) = Train(model, FineTuner.For(model), "frozen encoder + head", learningRate: 2e-3, epochs: 3);
    results.Add(("frozen encoder + head", Accuracy(model), Percent(share), time, memory));
}

// 2. LoRA on the attention projections, head trained fully (modules_to_save), as PEFT users do it.
string adapterDir = Path.Combine(Path.GetTempPath(), "finetuning-quickstart-adapter");
int[] loraPredictions;
using (BertForSequenceClassification model = NewModel())
{
    FineTuner<TextClassificationExample> tuner = FineTuner.For(model)
        .WithLoRA(r: 8, alpha: 16, targets: LoRATargets.Names("query", "key", "value", "dense"), configure: o => o.ModulesToSave.Add("classifier"));
    (TimeSpan time, string memory) = Train(model, tuner, "LoRA r=8", learningRate: 1e-3, epochs: 3);
    loraPredictions = model.Predict(test);
    results.Add(("LoRA r=8 (+ head)", Accuracy(model), Percent(LoRA.Summary(model).ToString()), time, memory));
    PeftAdapter.Save(model, adapterDir, taskType: "SEQ_CLS");
}

// 3. Optional: QLoRA, the same LoRA over an NF4-quantized encoder (double-quantized scales).
if (qlora)
{
    using BertForSequenceClassification model = NewModel();
    FineTuner<TextClassificationExample> tuner = FineTuner.For(model)
        .WithQLoRA(new QuantizationOptions { Type = QuantizationType.NF4, DoubleQuantization = true },
            r: 8, alpha: 16, targets: LoRATargets.Names("query", "key", "value", "dense"), configure: o => o.ModulesToSave.Add("classifier"));
    (TimeSpan time, string memory) = Train(model, tuner, "QLoRA r=8 over NF4", learningRate: 1e-3, epochs: 3);
    results.Add(("QLoRA r=8 (NF4 base)", Accuracy(model), Percent(LoRA.Summary(model).ToString()), time, memory));
}

// 4. Optional: full fine-tuning of every weight.
if (full)
{
    using BertForSequenceClassification model = NewModel();
    (TimeSpan time, string memory) = Train(model, FineTuner.For(model), "full fine-tuning", learningRate: 5e-5, epochs: 3);
    results.Add(("full fine-tuning", Accuracy(model), "100%", time, memory));
}

Console.WriteLine();
Console.WriteLine($"{"held-out test mails (" + test.Count + ")",-28} {"accuracy",9} {"trainable",10} {"time",8}  {"weight bytes/param",-18}");
foreach (var r in results)
    Console.WriteLine($"{r.Name,-28} {r.Accuracy,9:P1} {r.Trainable,10} {(r.Time == TimeSpan.Zero ? "-" : r.Time.TotalSeconds.ToString("F0") + " s"),8}  {r.Memory}");
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

(TimeSpan Time, string Memory) Train(BertForSequenceClassification model, FineTuner<TextClassificationExample> tuner, string name, double learningRate, int epochs)
{
    Console.WriteLine();
    Console.WriteLine($"Training: {name}");
    var progress = new ConsoleProgressBar();
    var clock = Stopwatch.StartNew();
    using TrainingRun run = tuner
        .WithOptions(o => { o.Epochs = epochs; o.BatchSize = 16; o.LearningRate = learningRate; o.WarmupRatio = 0.1; o.LogEverySteps = 0; })
        .WithValidation(validation)
        .WithProgress(progress)
        .Train(train);
    progress.Finish();
    Console.WriteLine($"  validation loss {run.Evaluations[0].Loss:F3} -> {run.Evaluations[^1].Loss:F3}");
    return (clock.Elapsed, $"{Memory.WeightBytesPerParameter(model, pretrained):F2}");
}

double Accuracy(BertForSequenceClassification model) =>
    model.Predict(test).Zip(test).Count(p => p.First == p.Second.Label) / (double)test.Count;

static string Percent(string summary) => summary[(summary.LastIndexOf(':') + 2)..] + "%";

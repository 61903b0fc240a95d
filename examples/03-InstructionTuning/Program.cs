// Instruction tuning on a real pretrained model: teach stories260K (Karpathy's tinyllamas, LLaMA architecture)
// a fixed format, "Title: {Name} and the {Thing}" on the first line of every story it is asked for, with LoRA,
// packed sequences and 10% replay of general text. The run's built-in evaluation (docs/evaluation.md) reports, before
// and after, how often held-out requests get a title line, the perplexity on handwritten held-out stories (forgetting,
// with a warning), overfitting warnings, and a 2-shot prompting baseline of the base model.
// Needs FINETUNING_MODELS_DIR pointing at a folder containing stories260K/. `--full` fine-tunes all weights instead of
// LoRA; `--qlora` trains the same LoRA over an NF4-quantized base (QLoRA; down_proj stays fp32); `--build-data`
// rewrites data/*.jsonl; `--out <folder>` chooses where the report (report.html with its charts) and the metrics logs
// go (default: a folder per configuration under the temp folder). The data pipeline lives in InstructionData.cs (shared with examples/05-QLoRAComparison), the
// evaluation set-up in TitleEvaluation.cs.
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using FineTuning;
using FineTuning.Data;
using FineTuning.Examples;
using FineTuning.Examples.InstructionTuning;
using FineTuning.Models.Llama;
using FineTuning.Models.Tokenizers;
using FineTuning.Monitoring;
using FineTuning.Quantization;
using FineTuning.Reporting;
using FineTuning.Training;
using TorchSharp;

torch.set_num_threads(Math.Min(2, Environment.ProcessorCount));
if (TinyStoriesModelFolder.Find() is not string modelDir) return 1;

using LlamaForCausalLM model = Llama2CCheckpoint.Load(Path.Combine(modelDir, "stories260K.bin"));
Llama2CTokenizer tokenizer = Llama2CTokenizer.Load(Path.Combine(modelDir, "tok512.bin"), model.Config.VocabSize);

if (args.Contains("--build-data"))
{
    string target = Path.Combine(Directory.GetCurrentDirectory(), "data");
    StoryData.Build(model, tokenizer, target);
    Console.WriteLine($"wrote {target}/title-stories.jsonl and general-stories.jsonl");
    return 0;
}

InstructionData data = InstructionData.Load(Path.Combine(AppContext.BaseDirectory, "data"), tokenizer);
foreach (SkippedRecord s in data.Skipped) Console.WriteLine($"skipped: {s}");
Console.WriteLine("Validation report:");
Console.WriteLine(DataValidator.Validate(data.Chats, data.Labeler, contextLength: model.Config.MaxPositionEmbeddings));
Console.WriteLine($"{data.Split.Train.Count} training conversations ({data.Train.Dropped.Count} dropped, {data.Train.Truncated} truncated) + {data.Replayed} replayed stories " +
                  $"packed into {data.Rows.Count} rows of <= {InstructionData.RowLength} tokens; {data.Split.Validation.Count} held-out requests.");
Console.WriteLine();

// LoRA by default; `--full` fine-tunes every weight instead (at a lower learning rate); `--qlora` puts the same LoRA
// over an NF4-quantized base (double-quantized scales). The MLP's down_proj (172 inputs) stays fp32: no allowed block
// size (a power of two from 32 to 4096) divides 172.
bool full = args.Contains("--full"), qlora = args.Contains("--qlora");
if (full && qlora)
{
    Console.Error.WriteLine("Choose one of --full and --qlora.");
    return 1;
}
string configuration = full ? "full" : qlora ? "qlora" : "lora";
string output = Path.GetFullPath(Path.Combine(Option("--out") ?? Path.Combine(Path.GetTempPath(), "finetuning-03"), configuration));
var report = new ReportCallback(Path.Combine(output, "report"), new TrainingReportOptions { Title = $"Instruction tuning: stories260K learns a title line ({configuration})" });
var progress = new ConsoleProgressBar();
// The held-out requests, labelled and packed as in training: validation loss and token accuracy at every epoch end.
List<PackedSequence> validation = TitleEvaluation.Validation(data);
FineTuner<PackedSequence> tuner = FineTuner.For(model, new PackedCausalLMObjective());
if (qlora) tuner = tuner.WithQLoRA(new QuantizationOptions { DoubleQuantization = true, Targets = QuantizationTargets.AllLinear.Except("down_proj") }, r: 8, alpha: 16);
else if (!full) tuner = tuner.WithLoRA(r: 8, alpha: 16);
Console.WriteLine(full ? "Full fine-tuning:" : qlora ? "QLoRA r=8 (NF4 base, down_proj fp32):" : "LoRA r=8:");
using (TrainingRun run = tuner
           .WithOptions(o =>
           {
               o.Epochs = 6;
               o.BatchSize = 4;
               o.LearningRate = full ? 1e-3 : 5e-3;
               o.WarmupRatio = 0.1;
               o.Schedule = new CosineSchedule();
               o.Seed = 3;
               o.LoggingDirectory = Path.Combine(output, "logs");
           })
           .WithValidation(validation)
           .WithEvaluation(TitleEvaluation.Create(data, tokenizer))
           .WithProgress(progress)
           .WithCallback(report)
           .Train(data.Rows))
{
    progress.Finish();
    Console.WriteLine($"{run.StepsCompleted} steps in {run.Elapsed.TotalSeconds:F0} s, loss {run.History[0].Loss:F3} -> {run.FinalLoss:F3}");
    Console.WriteLine();
    TitleEvaluation.Print(run);
    Console.WriteLine($"Report: {report.LastReportPath}");
    Console.WriteLine($"Metrics log: {Path.Combine(output, "logs", JsonlMetricsWriter.DefaultFileName)}");
}

return 0;

string? Option(string name)
{
    int at = Array.IndexOf(args, name);
    return at >= 0 && at + 1 < args.Length ? args[at + 1] : null;
}

// Preference tuning on a real pretrained model: teach stories260K (a tiny LLaMA trained on TinyStories) to make
// its characters kind, with DPO and with ORPO on LoRA adapters. The run's built-in evaluation (docs/evaluation.md)
// measures, at step 0 and at the end, on held-out pairs and prompts: preference accuracy and reward margin (TRL's
// rewards/accuracies and rewards/margins), the rate of sampled continuations that show kindness (a generation scorer),
// and perplexity on plain held-out text with the adapters disabled and enabled (the forgetting check). Each run writes
// its HTML report. Usage: dotnet run --project examples/04-PreferenceTuning -c Release
//   [-- <folder with stories260K.bin and tok512.bin>] [--out <folder for the reports; default under the temp folder>]
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using FineTuning;
using FineTuning.Evaluation;
using FineTuning.Examples.PreferenceTuning;
using FineTuning.Generation;
using FineTuning.Lora;
using FineTuning.Models;
using FineTuning.Models.Bert;
using FineTuning.Models.Llama;
using FineTuning.Models.Tokenizers;
using FineTuning.Monitoring;
using FineTuning.Reporting;
using FineTuning.Rlhf;
using FineTuning.Rlhf.Data;
using FineTuning.Rlhf.Losses;
using FineTuning.Rlhf.Rewards;
using FineTuning.Training;
using TorchSharp;

string? folder = (args.Length > 0 && !args[0].StartsWith("--", StringComparison.Ordinal) ? args[0] : null)
    ?? (Environment.GetEnvironmentVariable("FINETUNING_MODELS_DIR") is { } root ? Path.Combine(root, "stories260K") : null);
if (folder is null || !File.Exists(Path.Combine(folder, "stories260K.bin")))
{
    Console.Error.WriteLine("Give the folder holding stories260K.bin and tok512.bin as the first argument, or set FINETUNING_MODELS_DIR to its parent.");
    return 2;
}
string output = Path.GetFullPath(Option("--out") ?? Path.Combine(Path.GetTempPath(), "finetuning-04"));
torch.set_num_threads(Math.Min(2, Environment.ProcessorCount));
Llama2CTokenizer tokenizer = Llama2CTokenizer.Load(Path.Combine(folder, "tok512.bin"));

List<PreferencePair> Tokenize(IEnumerable<(string Prompt, string Chosen, string Rejected)> raw) =>
    PreferenceTokenization.ToPairs(tokenizer, raw.Select(p => new TextPreference(p.Prompt, p.Chosen, p.Rejected)));
List<PreferencePair> train = Tokenize(KindnessData.Pairs(heldOut: false, seed: 1));
List<PreferencePair> heldOut = Tokenize(KindnessData.Pairs(heldOut: true, seed: 2));
List<TokenSequence> plain = KindnessData.PlainText.Select(t => TokenSequence.ForLanguageModeling(tokenizer.Encode(t, addBos: true, addEos: true).Select(i => (long)i).ToArray())).ToList();
List<GenerationExample> heldOutPrompts = KindnessData.Pairs(heldOut: true, seed: 3).Select(p => p.Prompt).Distinct().Select(p => new GenerationExample(p)).ToList();
Console.WriteLine($"stories260K; {train.Count} training pairs, {heldOut.Count} held-out pairs, {heldOutPrompts.Count} held-out prompts");

var rows = new List<string>();
var reports = new List<string>();
foreach ((string name, IPreferenceLoss loss) in new (string, IPreferenceLoss)[] { ("DPO (beta 0.5)", new DpoLoss(beta: 0.5)), ("ORPO (lambda 0.5)", new OrpoLoss(lambda: 0.5)) })
{
    using LlamaForCausalLM model = Llama2CCheckpoint.Load(Path.Combine(folder, "stories260K.bin"));
    var objective = new PreferenceObjective(loss, maxLength: model.Config.MaxPositionEmbeddings);
    if (loss.NeedsReference) objective.AddReference(model, heldOut); // the validation pairs' reference log-probs (the base model)
    string runFolder = Path.Combine(output, name.Split(' ')[0].ToLowerInvariant());
    var report = new ReportCallback(Path.Combine(runFolder, "report"), new TrainingReportOptions { Title = $"Preference tuning: stories260K, {name}, LoRA" });

    Console.WriteLine();
    Console.WriteLine($"Training {name} on LoRA adapters...");
    var progress = new ConsoleProgressBar();
    using TrainingRun run = FineTuner.For(model)
        .WithLoRA(r: 8, alpha: 16)
        .WithOptions(o => { o.Epochs = 2; o.BatchSize = 8; o.LearningRate = 5e-4; o.WarmupRatio = 0.1; o.LogEverySteps = 0; o.LoggingDirectory = Path.Combine(runFolder, "logs"); })
        .WithPreferenceObjective(objective)
        .WithValidation(heldOut) // rewards/accuracies, rewards/margins, rewards/chosen, rewards/rejected at step 0, each epoch end
        .WithEvaluation(e =>
        {
            // Sampled continuations (temperature 0.8, seeded: the same draws before and after), scored 1 when kind.
            e.Generation = new GenerationEvaluation(heldOutPrompts, tokenizer)
            {
                Options = new GenerationOptions { MaxNewTokens = 20, Temperature = 0.8, Seed = 100, StopTokenIds = new[] { tokenizer.EosId } },
                Scorer = (prompt, continuation) => KindnessData.IsKind(continuation) ? 1 : 0,
            };
            e.Forgetting = new ForgettingCheck(plain); // "before" = the same model with its adapters disabled
        })
        .WithProgress(progress)
        .WithCallback(report)
        .Train(train);
    progress.Finish();
    EvaluationMetrics first = run.Evaluations[0], last = run.Evaluations[^1];
    ForgettingReport forgetting = run.Forgetting!;
    rows.Add($"{name,-18} {first.Metrics[MetricNames.RewardsAccuracies],8:P0} -> {last.Metrics[MetricNames.RewardsAccuracies],-5:P0} " +
             $"{first.Metrics[MetricNames.RewardsMargins],7:F3} -> {last.Metrics[MetricNames.RewardsMargins],-7:F3} " +
             $"{first.Metrics[MetricNames.Score],6:P0} -> {last.Metrics[MetricNames.Score],-5:P0} " +
             $"{forgetting.BeforePerplexity,7:F2} -> {forgetting.AfterPerplexity,-6:F2} {run.Elapsed.TotalSeconds,5:F0} s");
    Console.WriteLine($"  validation loss {first.Loss:F3} -> {last.Loss:F3}; a sampled held-out continuation after training: " +
                      last.Generation!.Outputs[0].Output.Replace('\n', ' '));
    Finish(run, report);
}

// A reward model: all-MiniLM-L6-v2 with a one-score head (HF's num_labels = 1), Bradley-Terry loss on the same
// preferences as text; its validation (accuracy, rewards/margins) runs on the held-out pairs.
BertOnnxCheckpoint miniLM = MiniLM.Load(Path.Combine(AppContext.BaseDirectory, "models", "MiniLM"));
WordPieceTokenizer wordPiece = miniLM.CreateTokenizer();
List<RewardPair> RewardPairs(IEnumerable<(string Prompt, string Chosen, string Rejected)> raw) => raw
    .Select(p => new RewardPair(wordPiece.Encode(p.Prompt + p.Chosen, 128).InputIds, wordPiece.Encode(p.Prompt + p.Rejected, 128).InputIds)).ToList();
List<RewardPair> rewardTrain = RewardPairs(KindnessData.Pairs(heldOut: false, seed: 1)), rewardHeldOut = RewardPairs(KindnessData.Pairs(heldOut: true, seed: 2));
torch.manual_seed(0); // the score head's initialisation (an application may seed the global generator)
using (var rewardModel = new BertForSequenceClassification(miniLM.CreateModel(), numLabels: 1, BertClassifierPooling.Mean))
{
    Console.WriteLine();
    Console.WriteLine("Training a reward model (MiniLM + LoRA, Bradley-Terry)...");
    var report = new ReportCallback(Path.Combine(output, "reward-model", "report"), new TrainingReportOptions { Title = "Reward model: MiniLM + LoRA, Bradley-Terry" });
    using TrainingRun rewardRun = FineTuner.For(rewardModel, new BradleyTerryObjective())
        .WithLoRA(r: 8, alpha: 16, targets: LoRATargets.Names("query", "value"), configure: o => o.ModulesToSave.Add("classifier"))
        .WithOptions(o => { o.Epochs = 1; o.BatchSize = 16; o.LearningRate = 1e-3; o.LogEverySteps = 0; })
        .WithValidation(rewardHeldOut)
        .WithCallback(report)
        .Train(rewardTrain);
    EvaluationMetrics first = rewardRun.Evaluations[0], last = rewardRun.Evaluations[^1];
    rows.Add($"{"reward model",-18} {first.Metrics[MetricNames.Accuracy],8:P0} -> {last.Metrics[MetricNames.Accuracy],-5:P0} " +
             $"(MiniLM, {rewardHeldOut.Count} held-out pairs, mean score margin {first.Metrics[MetricNames.RewardsMargins]:F2} -> {last.Metrics[MetricNames.RewardsMargins]:F2}, {rewardRun.Elapsed.TotalSeconds:F0} s)");
    Finish(rewardRun, report);
}

Console.WriteLine();
Console.WriteLine($"{"held out",-18} {"pref. accuracy",17} {"reward margin",19} {"kind continuations",19} {"plain-text perplexity",21} {"time",6}");
rows.ForEach(Console.WriteLine);
Console.WriteLine();
reports.ForEach(r => Console.WriteLine($"Report: {r}"));
return 0;

void Finish(TrainingRun run, ReportCallback report)
{
    foreach (TrainingWarning w in run.Warnings) Console.WriteLine($"  warning at step {w.Step} ({w.Code}): {w.Message}");
    reports.Add(report.LastReportPath!);
}

string? Option(string name)
{
    int at = Array.IndexOf(args, name);
    return at >= 0 && at + 1 < args.Length ? args[at + 1] : null;
}

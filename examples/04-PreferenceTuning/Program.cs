// Preference tuning on a real pretrained model: teach stories260K (a tiny LLaMA trained on TinyStories) to make
// its characters kind, with DPO and with ORPO on LoRA adapters, and measure before/after on held-out prompts:
// preference accuracy and reward margin, the rate of sampled continuations that show kindness, and perplexity
// on plain held-out text (the forgetting check).
// Usage: dotnet run --project examples/04-PreferenceTuning -c Release [-- <folder with stories260K.bin and tok512.bin>]
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using FineTuning;
using FineTuning.Examples.PreferenceTuning;
using FineTuning.Generation;
using FineTuning.Models;
using FineTuning.Lora;
using FineTuning.Models.Bert;
using FineTuning.Models.Llama;
using FineTuning.Models.Tokenizers;
using FineTuning.Rlhf;
using FineTuning.Rlhf.Data;
using FineTuning.Rlhf.Losses;
using FineTuning.Rlhf.Rewards;
using FineTuning.Training;
using TorchSharp;

string? folder = args.FirstOrDefault() ?? (Environment.GetEnvironmentVariable("FINETUNING_MODELS_DIR") is { } root ? Path.Combine(root, "stories260K") : null);
if (folder is null || !File.Exists(Path.Combine(folder, "stories260K.bin")))
{
    Console.Error.WriteLine("Give the folder holding stories260K.bin and tok512.bin as the first argument, or set FINETUNING_MODELS_DIR to its parent.");
    return 2;
}
torch.set_num_threads(Math.Min(2, Environment.ProcessorCount));
Llama2CTokenizer tokenizer = Llama2CTokenizer.Load(Path.Combine(folder, "tok512.bin"));

List<PreferencePair> Tokenize(IEnumerable<(string Prompt, string Chosen, string Rejected)> raw) =>
    PreferenceTokenization.ToPairs(tokenizer, raw.Select(p => new TextPreference(p.Prompt, p.Chosen, p.Rejected)));
List<PreferencePair> train = Tokenize(KindnessData.Pairs(heldOut: false, seed: 1));
List<PreferencePair> heldOut = Tokenize(KindnessData.Pairs(heldOut: true, seed: 2));
List<TokenSequence> plain = KindnessData.PlainText.Select(t => TokenSequence.ForLanguageModeling(tokenizer.Encode(t, addBos: true, addEos: true).Select(i => (long)i).ToArray())).ToList();
string[] heldOutPrompts = KindnessData.Pairs(heldOut: true, seed: 3).Select(p => p.Prompt).Distinct().ToArray();
Console.WriteLine($"stories260K; {train.Count} training pairs, {heldOut.Count} held-out pairs, {heldOutPrompts.Length} held-out prompts");

var rows = new List<string>();
foreach ((string name, IPreferenceLoss loss) in new (string, IPreferenceLoss)[] { ("DPO (beta 0.5)", new DpoLoss(beta: 0.5)), ("ORPO (lambda 0.5)", new OrpoLoss(lambda: 0.5)) })
{
    using LlamaForCausalLM model = Llama2CCheckpoint.Load(Path.Combine(folder, "stories260K.bin"));
    var objective = new PreferenceObjective(loss, maxLength: model.Config.MaxPositionEmbeddings);
    if (loss.NeedsReference) objective.AddReference(model, heldOut);
    (PreferenceMetrics prefBefore, double kindBefore, double pplBefore) = Measure(model, objective);

    Console.WriteLine();
    Console.WriteLine($"Training {name} on LoRA adapters...");
    var progress = new FineTuning.Monitoring.ConsoleProgressBar();
    using TrainingRun run = FineTuner.For(model)
        .WithLoRA(r: 8, alpha: 16)
        .WithOptions(o => { o.Epochs = 2; o.BatchSize = 8; o.LearningRate = 5e-4; o.WarmupRatio = 0.1; o.LogEverySteps = 0; })
        .WithPreferenceObjective(objective)
        .WithProgress(progress)
        .Train(train);
    progress.Finish();
    (PreferenceMetrics prefAfter, double kindAfter, double pplAfter) = Measure(model, objective);
    rows.Add($"{name,-18} {prefBefore.Accuracy,8:P0} -> {prefAfter.Accuracy,-5:P0} {prefBefore.Margin,7:F3} -> {prefAfter.Margin,-7:F3} {kindBefore,6:P0} -> {kindAfter,-5:P0} {pplBefore,7:F2} -> {pplAfter,-6:F2} {run.Elapsed.TotalSeconds,5:F0} s");

    Console.WriteLine("  sample after training: " + new TextGenerator(model, tokenizer).Generate(heldOutPrompts[0],
        new GenerationOptions { MaxNewTokens = 30, Temperature = 0, StopTokenIds = new[] { tokenizer.EosId } }).Replace('\n', ' '));
}

// A reward model: all-MiniLM-L6-v2 with a one-score head (HF's num_labels = 1), Bradley-Terry loss on the same
// preferences as text, scored on the held-out pairs.
BertOnnxCheckpoint miniLM = MiniLM.Load(Path.Combine(AppContext.BaseDirectory, "models", "MiniLM"));
WordPieceTokenizer wordPiece = miniLM.CreateTokenizer();
List<RewardPair> RewardPairs(IEnumerable<(string Prompt, string Chosen, string Rejected)> raw) => raw
    .Select(p => new RewardPair(wordPiece.Encode(p.Prompt + p.Chosen, 128).InputIds, wordPiece.Encode(p.Prompt + p.Rejected, 128).InputIds)).ToList();
List<RewardPair> rewardTrain = RewardPairs(KindnessData.Pairs(heldOut: false, seed: 1)), rewardHeldOut = RewardPairs(KindnessData.Pairs(heldOut: true, seed: 2));
torch.manual_seed(0); // the score head's initialisation (an application may seed the global generator)
using (var rewardModel = new BertForSequenceClassification(miniLM.CreateModel(), numLabels: 1, BertClassifierPooling.Mean))
{
    double rewardBefore = BradleyTerryObjective.Evaluate(rewardModel, rewardHeldOut).Accuracy;
    Console.WriteLine();
    Console.WriteLine("Training a reward model (MiniLM + LoRA, Bradley-Terry)...");
    using TrainingRun rewardRun = FineTuner.For(rewardModel, new BradleyTerryObjective())
        .WithLoRA(r: 8, alpha: 16, targets: LoRATargets.Names("query", "value"), configure: o => o.ModulesToSave.Add("classifier"))
        .WithOptions(o => { o.Epochs = 1; o.BatchSize = 16; o.LearningRate = 1e-3; o.LogEverySteps = 0; })
        .Train(rewardTrain);
    (double rewardAfter, double rewardMargin) = BradleyTerryObjective.Evaluate(rewardModel, rewardHeldOut);
    rows.Add($"{"reward model",-18} {rewardBefore,8:P0} -> {rewardAfter,-5:P0} (MiniLM, {rewardHeldOut.Count} held-out pairs, mean score margin {rewardMargin:F2}, {rewardRun.Elapsed.TotalSeconds:F0} s)");
}

Console.WriteLine();
Console.WriteLine($"{"held out",-18} {"pref. accuracy",17} {"reward margin",19} {"kind continuations",19} {"plain-text perplexity",21} {"time",6}");
rows.ForEach(Console.WriteLine);
return 0;

(PreferenceMetrics Preference, double KindRate, double Perplexity) Measure(LlamaForCausalLM model, PreferenceObjective objective)
{
    PreferenceMetrics preference = objective.Evaluate(model, heldOut);
    var generator = new TextGenerator(model, tokenizer);
    int kind = 0, samples = 0;
    foreach (string prompt in heldOutPrompts)
    {
        string text = generator.Generate(prompt, new GenerationOptions { MaxNewTokens = 20, Temperature = 0.8, Seed = 100, StopTokenIds = new[] { tokenizer.EosId } });
        if (KindnessData.IsKind(text)) kind++;
        samples++;
    }
    double perplexity = FineTuner.For(model).Evaluate(plain).Perplexity;
    return (preference, kind / (double)samples, perplexity);
}

// GRPO and RLOO on a real pretrained model: teach stories260K (a tiny LLaMA trained on TinyStories) to mention the
// object its prompt names, without rambling, from its own samples scored by a verifiable reward (LoRA adapters).
// Reports on held-out prompts (other objects) the reward and the rule-satisfaction rate before and after, samples,
// and perplexity on plain text (the forgetting check).
// Usage: dotnet run --project examples/08-Grpo -c Release [-- <folder with stories260K.bin and tok512.bin>] [--steps 30] [--lr 5e-3]
//        [--beta 0.04] [--algorithms GRPO,RLOO]
//        Variant (b), a trained reward model as the reward, compared with DPO: add --variant b (see RewardModelRun.cs).
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using FineTuning;
using FineTuning.Examples.Grpo;
using FineTuning.Lora;
using FineTuning.Models;
using FineTuning.Models.Llama;
using FineTuning.Models.Tokenizers;
using FineTuning.Rlhf;
using FineTuning.Rlhf.Grpo;
using FineTuning.Rlhf.Rewards;
using FineTuning.Training;
using TorchSharp;

string? Option(string name) => Array.IndexOf(args, name) is int at and >= 0 && at + 1 < args.Length ? args[at + 1] : null;
int steps = int.Parse(Option("--steps") ?? "30", System.Globalization.CultureInfo.InvariantCulture);
double learningRate = double.Parse(Option("--lr") ?? "5e-3", System.Globalization.CultureInfo.InvariantCulture);
string[] algorithms = (Option("--algorithms") ?? "GRPO,RLOO").Split(',');
double beta = double.Parse(Option("--beta") ?? "0.04", System.Globalization.CultureInfo.InvariantCulture);
string? folder = args.Where((a, i) => !a.StartsWith("--", StringComparison.Ordinal) && (i == 0 || !args[i - 1].StartsWith("--", StringComparison.Ordinal))).FirstOrDefault()
    ?? (Environment.GetEnvironmentVariable("FINETUNING_MODELS_DIR") is { } root ? Path.Combine(root, "stories260K") : null);
if (folder is null || !File.Exists(Path.Combine(folder, "stories260K.bin")))
{
    Console.Error.WriteLine("Give the folder holding stories260K.bin and tok512.bin as the first argument, or set FINETUNING_MODELS_DIR to its parent.");
    return 2;
}
torch.set_num_threads(Math.Min(2, Environment.ProcessorCount));
Llama2CTokenizer tokenizer = Llama2CTokenizer.Load(Path.Combine(folder, "tok512.bin"));
if (Option("--variant") == "b") return RewardModelRun.Run(folder, tokenizer, Option("--steps") is null ? 20 : steps, learningRate, beta);
string[] train = WordTask.Prompts(heldOut: false, seed: 1), heldOut = WordTask.Prompts(heldOut: true, seed: 2);
List<TokenSequence> plain = WordTask.PlainText.Select(t => TokenSequence.ForLanguageModeling(tokenizer.Encode(t, addBos: true).Select(i => (long)i).ToArray())).ToList();
IRewardFunction[] rewards = { WordTask.MentionReward, WordTask.LengthPenalty };
Console.WriteLine($"stories260K + LoRA; {train.Length} training prompts, {heldOut.Length} held-out prompts (other objects), {steps} steps of 4 prompts x 8 completions");

var rows = new List<string>();
foreach (string algorithm in algorithms)
{
    using LlamaForCausalLM model = Llama2CCheckpoint.Load(Path.Combine(folder, "stories260K.bin"));
    var options = new GrpoOptions { NumGenerations = 8, MaxCompletionLength = 32, Temperature = 1.0, LossType = GrpoLossType.Dapo, Beta = beta, Seed = 1 };
    // The KL term keeps the policy near the base model (the same model with its adapters off): without it the tiny
    // model learns the rule but forgets how to write.
    ReferencePolicy reference = ReferencePolicy.WithinScope(LoRA.DisableAdapters);
    GrpoObjective objective = algorithm == "GRPO" ? new GrpoObjective(tokenizer, options, rewards, reference) : GrpoObjective.Rloo(tokenizer, options, rewards, reference);
    (RewardEvaluation before, double pplBefore) = Measure(model, objective);

    Console.WriteLine();
    Console.WriteLine($"Training {algorithm} on LoRA adapters...");
    using TrainingRun run = FineTuner.For(model)
        .WithLoRA(r: 8, alpha: 16, targets: LoRATargets.AllLinear)
        .WithOptions(o => { o.MaxSteps = steps; o.BatchSize = 4; o.LearningRate = learningRate; o.WarmupSteps = 0; o.LogEverySteps = 0; o.Seed = 1; })
        .WithGrpoObjective(objective)
        .WithProgress(new Progress(objective))
        .Train(train);
    (RewardEvaluation after, double pplAfter) = Measure(model, objective);
    var clock = Stopwatch.StartNew();
    objective.Evaluate(model, train.Take(4).ToArray(), generationsPerPrompt: 8, seed: 5);
    double sampling = clock.Elapsed.TotalSeconds;

    rows.Add($"{algorithm,-5} {before.Reward,7:F3} -> {after.Reward,-7:F3} {Rate(before),6:P0} -> {Rate(after),-5:P0} {before.CompletionLength,5:F1} -> {after.CompletionLength,-5:F1} "
        + $"{pplBefore,6:F2} -> {pplAfter,-6:F2} {run.Elapsed.TotalSeconds,5:F0} s {run.Elapsed.TotalSeconds / run.StepsCompleted,6:F2} s {sampling,6:F2} s");
    foreach (int i in new[] { 0, 4 })
    {
        Console.WriteLine($"  {after.Samples[i].Prompt}");
        Console.WriteLine($"    before: {before.Samples[i].Completion.Replace('\n', ' ')}");
        Console.WriteLine($"    after:  {after.Samples[i].Completion.Replace('\n', ' ')}");
    }
}

Console.WriteLine();
Console.WriteLine($"{"held out",-5} {"reward",17} {"mentions word",15} {"length (tokens)",16} {"plain-text ppl",18} {"train",7} {"/step",8} {"sample 32",9}");
rows.ForEach(Console.WriteLine);
return 0;

(RewardEvaluation Rewards, double Perplexity) Measure(LlamaForCausalLM model, GrpoObjective objective) =>
    (objective.Evaluate(model, heldOut, generationsPerPrompt: 4, seed: 100), FineTuner.For(model).Evaluate(plain).Perplexity);

static double Rate(RewardEvaluation e) => e.Samples.Count(s => WordTask.Mentions(s.Prompt, s.Completion)) / (double)e.Samples.Count;

/// <summary>Prints the reward of every 5th step.</summary>
internal sealed class Progress(GrpoObjective objective) : IProgress<TrainingProgress>
{
    public void Report(TrainingProgress value)
    {
        if (value.Step % 5 != 0 && value.Step != value.TotalSteps) return;
        GrpoMetrics m = objective.History[^1];
        Console.WriteLine($"  step {value.Step,3}/{value.TotalSteps}  reward {m.Reward:F3} (std {m.RewardStd:F3})  "
            + string.Join("  ", m.RewardFunctions.Select(f => $"{f.Name} {f.Mean:F3}"))
            + $"  length {m.CompletionLength:F1}  entropy {m.Entropy:F2}  kl {m.Kl ?? 0:F4}  {value.Elapsed.TotalSeconds:F0} s");
    }
}

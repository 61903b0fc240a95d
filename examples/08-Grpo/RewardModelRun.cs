using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using FineTuning.Examples.PreferenceTuning;
using FineTuning.Lora;
using FineTuning.Models;
using FineTuning.Models.Bert;
using FineTuning.Models.Llama;
using FineTuning.Models.Tokenizers;
using FineTuning.Rlhf;
using FineTuning.Rlhf.Data;
using FineTuning.Rlhf.Grpo;
using FineTuning.Rlhf.Losses;
using FineTuning.Rlhf.Rewards;
using FineTuning.Training;
using TorchSharp;

namespace FineTuning.Examples.Grpo;

/// <summary>
/// Variant (b), the classic pipeline: preferences -> reward model -> policy optimisation. The MiniLM reward model of
/// example 04 (Bradley-Terry on the kindness pairs) scores stories260K's own continuations for GRPO; DPO trains on
/// the same pairs directly. Both are measured the same way on held-out prompts (names and creatures never seen).
/// </summary>
internal static class RewardModelRun
{
    public static int Run(string folder, Llama2CTokenizer tokenizer, int steps, double learningRate, double beta)
    {
        // The reward model exactly as example 04 trains it; it reads prompt + continuation with its own WordPiece
        // tokenizer, so the policy's completions are decoded to text and re-encoded (no shared vocabulary needed).
        BertOnnxCheckpoint miniLM = MiniLM.Load(Path.Combine(AppContext.BaseDirectory, "models", "MiniLM"));
        WordPieceTokenizer wordPiece = miniLM.CreateTokenizer();
        IReadOnlyList<int> Encode(string prompt, string completion) => wordPiece.Encode(prompt + completion, 128).InputIds;
        List<RewardPair> RewardPairs(bool heldOut, int seed) =>
            KindnessData.Pairs(heldOut, seed).Select(p => new RewardPair(Encode(p.Prompt, p.Chosen), Encode(p.Prompt, p.Rejected))).ToList();
        torch.manual_seed(0); // the score head's initialisation (an application may seed the global generator)
        using var rewardModel = new BertForSequenceClassification(miniLM.CreateModel(), numLabels: 1, BertClassifierPooling.Mean);
        Console.WriteLine("Training the reward model (MiniLM + LoRA, Bradley-Terry on the kindness pairs of example 04)...");
        using (TrainingRun rewardRun = FineTuner.For(rewardModel, new BradleyTerryObjective())
                   .WithLoRA(r: 8, alpha: 16, targets: LoRATargets.Names("query", "value"), configure: o => o.ModulesToSave.Add("classifier"))
                   .WithOptions(o => { o.Epochs = 1; o.BatchSize = 16; o.LearningRate = 1e-3; o.LogEverySteps = 0; })
                   .Train(RewardPairs(heldOut: false, seed: 1)))
        {
            (double accuracy, double margin) = BradleyTerryObjective.Evaluate(rewardModel, RewardPairs(heldOut: true, seed: 2));
            Console.WriteLine($"  held-out pair accuracy {accuracy:P0}, mean score margin {margin:F2} ({rewardRun.Elapsed.TotalSeconds:F0} s)");
        }
        var reward = new RewardModelReward(rewardModel, Encode, name: "kindness_rm", batchSize: 32);

        string[] trainPrompts = KindnessData.Pairs(heldOut: false, seed: 1).Select(p => p.Prompt).Distinct().ToArray();
        string[] heldOutPrompts = KindnessData.Pairs(heldOut: true, seed: 2).Select(p => p.Prompt).Distinct().ToArray();
        List<TokenSequence> plain = KindnessData.PlainText.Select(t => TokenSequence.ForLanguageModeling(tokenizer.Encode(t, addBos: true, addEos: true).Select(i => (long)i).ToArray())).ToList();
        var options = new GrpoOptions { NumGenerations = 8, MaxCompletionLength = 20, Beta = beta, Seed = 1 };
        Console.WriteLine($"{trainPrompts.Length} training prompts, {heldOutPrompts.Length} held-out prompts; GRPO {steps} steps of 4 prompts x 8 completions; DPO 1 epoch of the pairs");

        var rows = new List<string>();
        foreach (string method in new[] { "GRPO", "DPO" })
        {
            using LlamaForCausalLM model = Llama2CCheckpoint.Load(Path.Combine(folder, "stories260K.bin"));
            // Also the measuring stick for DPO: Evaluate samples from whichever policy it is given and scores with the reward model.
            var grpo = new GrpoObjective(tokenizer, options, new[] { reward }, ReferencePolicy.WithinScope(LoRA.DisableAdapters));
            (RewardEvaluation before, double pplBefore) = Measure(model, grpo);
            Console.WriteLine();
            Console.WriteLine($"Training {method} on LoRA adapters...");
            FineTuner<TokenSequence> builder = FineTuner.For(model).WithLoRA(r: 8, alpha: 16, targets: LoRATargets.AllLinear);
            using TrainingRun run = method == "GRPO"
                ? builder.WithOptions(o => { o.MaxSteps = steps; o.BatchSize = 4; o.LearningRate = learningRate; o.WarmupSteps = 0; o.LogEverySteps = 0; o.Seed = 1; })
                    .WithGrpoObjective(grpo).WithProgress(new Progress(grpo)).Train(trainPrompts)
                : builder.WithOptions(o => { o.Epochs = 1; o.BatchSize = 8; o.LearningRate = 5e-4; o.WarmupRatio = 0.1; o.LogEverySteps = 0; })
                    .WithPreferenceObjective(new PreferenceObjective(new DpoLoss(beta: 0.5), maxLength: model.Config.MaxPositionEmbeddings))
                    .Train(PreferenceTokenization.ToPairs(tokenizer, KindnessData.Pairs(heldOut: false, seed: 1).Select(p => new TextPreference(p.Prompt, p.Chosen, p.Rejected))));
            (RewardEvaluation after, double pplAfter) = Measure(model, grpo);
            rows.Add($"{method,-5} {before.Reward,7:F3} -> {after.Reward,-7:F3} {Kind(before),6:P0} -> {Kind(after),-5:P0} {pplBefore,6:F2} -> {pplAfter,-6:F2} {run.Elapsed.TotalSeconds,5:F0} s  {run.StepsCompleted,4}");
            foreach (int i in new[] { 0, 10 })
            {
                Console.WriteLine($"  {after.Samples[i].Prompt}");
                Console.WriteLine($"    before: {before.Samples[i].Completion.Replace('\n', ' ')}  (reward {before.Samples[i].Reward:F2})");
                Console.WriteLine($"    after:  {after.Samples[i].Completion.Replace('\n', ' ')}  (reward {after.Samples[i].Reward:F2})");
            }
        }

        Console.WriteLine();
        Console.WriteLine($"{"held out",-5} {"reward model score",19} {"kind continuations",19} {"plain-text ppl",18} {"train",7} {"steps",5}");
        rows.ForEach(Console.WriteLine);
        return 0;

        (RewardEvaluation Rewards, double Perplexity) Measure(LlamaForCausalLM model, GrpoObjective objective) =>
            (objective.Evaluate(model, heldOutPrompts, generationsPerPrompt: 2, seed: 100), FineTuner.For(model).Evaluate(plain).Perplexity);
    }

    private static double Kind(RewardEvaluation e) => e.Samples.Count(s => KindnessData.IsKind(s.Completion)) / (double)e.Samples.Count;
}

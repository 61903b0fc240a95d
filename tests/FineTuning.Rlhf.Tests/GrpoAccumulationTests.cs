using System;
using System.Linq;
using FineTuning.Models.Llama;
using FineTuning.Rlhf.Grpo;
using FineTuning.Training;
using Xunit;

namespace FineTuning.Rlhf.Tests;

public sealed class GrpoAccumulationTests
{
    private static readonly CharTokenizer Tokenizer = new();

    [Fact]
    public void Dapo_WithGradientAccumulation_StepLossIsTheTokenMeanOverTheWholeGenerationBatch()
    {
        // Stop at 'a'..'e' so that completions have different lengths (1 to 8 tokens).
        GrpoOptions options = GrpoTrainingTests.Options(o => { o.LossType = GrpoLossType.Dapo; o.StopTokenIds = new[] { 3, 4, 5, 6, 7 }; o.MaxCompletionLength = 8; });
        string[] prompts = GrpoTrainingTests.Prompts(4, seed: 3);
        using LlamaForCausalLM model = PreferenceTrainingTests.TinyLlama();

        // Independently: micro-batch m of step 1 holds prompts 2m, 2m + 1 (no shuffling) and samples with the seed
        // derived from (Seed, cycle 0, m). At step 1 the ratio is 1 and beta 0, so every token's loss is -A_i.
        var sampler = new RolloutSampler(Tokenizer, options, new[] { GrpoTrainingTests.Vowels });
        Rollout[] rollouts = Enumerable.Range(0, 2).Select(m => sampler.Sample(model, prompts.Skip(2 * m).Take(2).ToArray(), options.NumGenerations,
            RolloutSampler.SeedOf(RolloutSampler.SeedOf(options.Seed, 0), m), default)).ToArray();
        (double Weighted, double Magnitude, double Tokens)[] parts = rollouts.Select(r =>
        {
            double[] a = Advantages.GroupRelative(r.Rewards, options.NumGenerations, scale: true);
            int[] lengths = r.Completions.Select(c => c.Count).ToArray();
            return (-a.Zip(lengths, (x, n) => x * n).Sum(), a.Zip(lengths, (x, n) => Math.Abs(x) * n).Sum(), (double)lengths.Sum());
        }).ToArray();
        Assert.NotEqual(parts[0].Tokens, parts[1].Tokens); // otherwise both normalisations agree and the test proves nothing
        double expected = parts.Sum(p => p.Weighted) / parts.Sum(p => p.Tokens);
        double perMicroBatch = parts.Average(p => p.Weighted / p.Tokens); // each micro-batch by its own tokens (not TRL's)

        var objective = new GrpoObjective(Tokenizer, options, new[] { GrpoTrainingTests.Vowels });
        using TrainingRun run = FineTuner.For(model)
            .WithOptions(o => { o.MaxSteps = 1; o.BatchSize = 2; o.GradientAccumulationSteps = 2; o.Shuffle = false; o.LearningRate = 1e-3; })
            .WithGrpoObjective(objective).Train(prompts);

        // fp32 sums of the terms |A_i| n_i: relative error of a few ulps of their total.
        double tolerance = 1e-5 * parts.Sum(p => p.Magnitude) / parts.Sum(p => p.Tokens);
        Assert.Equal(2, objective.History.Count);
        Assert.True(Math.Abs(run.History[0].Loss - expected) <= tolerance, $"step loss {run.History[0].Loss} vs token mean {expected}");
        Assert.True(Math.Abs(perMicroBatch - expected) > 10 * tolerance, $"per-micro-batch {perMicroBatch} vs {expected}: lengths too alike to tell");
    }
}

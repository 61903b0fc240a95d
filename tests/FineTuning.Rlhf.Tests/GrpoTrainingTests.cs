using System;
using System.Collections.Generic;
using System.Linq;
using FineTuning.Lora;
using FineTuning.Models.Llama;
using FineTuning.Rlhf.Grpo;
using FineTuning.Rlhf.Rewards;
using FineTuning.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Rlhf.Tests;

public sealed class GrpoTrainingTests
{
    private static readonly CharTokenizer Tokenizer = new();

    /// <summary>Share of vowels among the completion's characters: 5 of the 45 characters, about 11 % at random.</summary>
    internal static readonly IRewardFunction Vowels = RewardFunction.Create("vowels", (_, c) => c.Length == 0 ? 0 : c.Count(ch => "aeiou".Contains(ch)) / (double)c.Length);

    internal static string[] Prompts(int count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => new string(Enumerable.Range(0, 3).Select(_ => CharTokenizer.Alphabet[random.Next(26)]).ToArray())).ToArray();
    }

    internal static GrpoOptions Options(Action<GrpoOptions>? configure = null)
    {
        var o = new GrpoOptions { NumGenerations = 4, MaxCompletionLength = 6, Seed = 7 };
        configure?.Invoke(o);
        return o;
    }

    private static (TrainingRun Run, GrpoObjective Objective) Train(LlamaForCausalLM model, GrpoObjective objective, string[] prompts, int steps,
        Func<FineTuner<Models.TokenSequence>, FineTuner<Models.TokenSequence>>? adapt = null, string[]? validation = null)
    {
        FineTuner<Models.TokenSequence> builder = FineTuner.For(model);
        if (adapt is not null) builder = adapt(builder);
        FineTuner<string> grpo = builder.WithOptions(o => { o.MaxSteps = steps; o.BatchSize = 4; o.LearningRate = 1e-2; o.Seed = 5; o.WarmupSteps = 0; })
            .WithGrpoObjective(objective);
        if (validation is not null) grpo = grpo.WithValidation(validation);
        return (grpo.Train(prompts), objective);
    }

    [Fact]
    public void Grpo_SameSeed_SameSamplesAndLossCurve()
    {
        string[] prompts = Prompts(8, seed: 1);
        (double[] Rewards, double[] Losses, string Sample) Once(ulong seed)
        {
            using LlamaForCausalLM model = PreferenceTrainingTests.TinyLlama();
            var objective = new GrpoObjective(Tokenizer, Options(o => o.Seed = seed), new[] { Vowels });
            (TrainingRun run, _) = Train(model, objective, prompts, steps: 4);
            using (run)
                return (objective.History.Select(h => h.Reward).ToArray(), run.History.Select(h => h.Loss).ToArray(),
                    objective.Evaluate(model, prompts.Take(2).ToArray(), seed: 3).Samples[0].Completion);
        }
        var first = Once(7);
        var second = Once(7);
        var other = Once(8);
        Assert.Equal(4, first.Rewards.Length);
        Assert.Equal(first.Rewards, second.Rewards);
        Assert.Equal(first.Losses, second.Losses);
        Assert.Equal(first.Sample, second.Sample);
        Assert.NotEqual(first.Rewards, other.Rewards);
    }

    [Fact]
    public void Grpo_VowelReward_HeldOutRewardRises()
    {
        using LlamaForCausalLM model = PreferenceTrainingTests.TinyLlama();
        var objective = new GrpoObjective(Tokenizer, Options(o => o.NumGenerations = 8), new[] { Vowels });
        string[] heldOut = Prompts(16, seed: 9);
        double before = objective.Evaluate(model, heldOut, generationsPerPrompt: 4, seed: 1).Reward;
        (TrainingRun run, _) = Train(model, objective, Prompts(64, seed: 2), steps: 16, b => b, heldOut.Take(8).ToArray());
        run.Dispose();
        double after = objective.Evaluate(model, heldOut, generationsPerPrompt: 4, seed: 1).Reward;
        Assert.True(after > before + 0.15, $"held-out vowel share {before:F3} -> {after:F3}");
        // WithValidation: the validation loss is minus the mean reward (8 prompts x 8 samples), before and after training.
        Assert.Equal(new long[] { 0, 16 }, run.Evaluations.Select(e => e.Step));
        Assert.All(run.Evaluations, e => { Assert.Equal(64, e.Targets); Assert.InRange(e.Loss, -1, 0); });
        Assert.True(run.Evaluations[1].Loss < run.Evaluations[0].Loss - 0.15, $"validation loss {run.Evaluations[0].Loss:F3} -> {run.Evaluations[1].Loss:F3}");
        Assert.All(objective.History, h => Assert.InRange(h.Entropy, 0, Math.Log(48) + 1e-4));
    }

    [Fact]
    public void Rloo_WithLoRAAndBeta_KlZeroAtFirstStepThenPositive()
    {
        using LlamaForCausalLM model = PreferenceTrainingTests.TinyLlama();
        var objective = GrpoObjective.Rloo(Tokenizer, Options(o => o.Beta = 0.05), new[] { Vowels }, ReferencePolicy.WithinScope(LoRA.DisableAdapters));
        (TrainingRun run, _) = Train(model, objective, Prompts(16, seed: 4), steps: 4, b => b.WithLoRA(r: 4, alpha: 8));
        run.Dispose();
        Assert.Equal("RLOO", objective.Algorithm);
        // LoRA's B starts at 0, so the policy is the reference at step 1: k3 KL is exactly 0; after updates it is positive.
        Assert.Equal(0.0, objective.History[0].Kl!.Value, 12);
        Assert.True(objective.History[^1].Kl > 0, $"KL at the last step {objective.History[^1].Kl}");
        Assert.True(run.History.All(h => double.IsFinite(h.Loss)));
    }

    [Fact]
    public void NumIterations_Two_ReusesCompletionsWithCachedOldLogProbs()
    {
        using LlamaForCausalLM model = PreferenceTrainingTests.TinyLlama();
        var objective = new GrpoObjective(Tokenizer, Options(o => { o.NumIterations = 2; o.Epsilon = 0.01; }), new[] { Vowels });
        (TrainingRun run, _) = Train(model, objective, Prompts(16, seed: 4), steps: 4);
        run.Dispose();
        Assert.Equal(new long[] { 0, 0, 1, 1 }, objective.History.Select(h => h.Generation));
        Assert.Equal(new[] { 0, 1, 0, 1 }, objective.History.Select(h => h.Iteration));
        // The reused step scores the same completions (same rewards); at the sampling step the ratio is exactly 1 (no
        // clipping), after one update with lr 1e-2 some tokens leave the 1 +- 0.01 band.
        Assert.Equal(objective.History[0].Reward, objective.History[1].Reward);
        Assert.Equal(0.0, objective.History[0].ClipRatio);
        Assert.True(objective.History[1].ClipRatio > 0, "no token clipped on the reused batch");
    }

    [Fact]
    public void Train_CancelledAfterTwoSteps_StopsAtTheStepBoundary_AndMidStepCancellationReachesRewards()
    {
        using LlamaForCausalLM model = PreferenceTrainingTests.TinyLlama();
        var objective = new GrpoObjective(Tokenizer, Options(), new[] { Vowels });
        using var cancel = new System.Threading.CancellationTokenSource();
        using TrainingRun run = FineTuner.For(model)
            .WithOptions(o => { o.MaxSteps = 6; o.BatchSize = 2; o.LearningRate = 1e-3; })
            .WithGrpoObjective(objective)
            .WithProgress(new SyncProgress(p => { if (p.Step == 2) cancel.Cancel(); }))
            .Train(Prompts(8, seed: 1), cancel.Token);
        Assert.True(run.Cancelled);
        Assert.Equal(2, run.StepsCompleted);
        Assert.Equal(2, objective.History.Count);

        // The objective's token is handed to the reward functions: cancelling it aborts the step that is scoring.
        IRewardFunction waits = RewardFunction.CreateAsync("waits", async (_, _, ct) =>
        {
            await System.Threading.Tasks.Task.Delay(System.Threading.Timeout.Infinite, ct).ConfigureAwait(false);
            return 0;
        });
        var blocked = new GrpoObjective(Tokenizer, Options(), new[] { waits }) { CancellationToken = cancel.Token };
        Assert.ThrowsAny<OperationCanceledException>(() => FineTuner.For(model).WithOptions(o => o.MaxSteps = 1).WithGrpoObjective(blocked).Train(Prompts(2, seed: 1)));
    }

    private sealed class SyncProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }

    [Fact]
    public void Sampling_StopsAtEos_StopTokenKeptAndNothingAfter()
    {
        using LlamaForCausalLM model = PreferenceTrainingTests.TinyLlama();
        // Stop at 'a'..'e' (ids 3..7, ~1 in 9 per token) so that both ended and cut completions occur.
        var sampler = new RolloutSampler(Tokenizer, Options(o => { o.StopTokenIds = new[] { 3, 4, 5, 6, 7 }; o.MaxCompletionLength = 8; }), new[] { Vowels });
        Rollout r = sampler.Sample(model, Prompts(8, seed: 3), 4, seed: 11, default);
        Assert.Contains(r.Terminated, t => t);
        Assert.Contains(r.Terminated, t => !t);
        for (int i = 0; i < r.Count; i++)
        {
            IReadOnlyList<int> c = r.Completions[i];
            int firstStop = c.ToList().FindIndex(id => id is >= 3 and <= 7);
            if (r.Terminated[i]) Assert.Equal(c.Count - 1, firstStop);
            else Assert.True(firstStop < 0 && c.Count == 8);
        }
    }

    [Fact]
    public void TokenLogProbs_RightPaddedBatch_MasksAfterTheEndAndMatchesSequenceLogProbs()
    {
        using var scope = NewDisposeScope();
        using LlamaForCausalLM model = PreferenceTrainingTests.TinyLlama();
        model.eval();
        var sequences = new (IReadOnlyList<int>, IReadOnlyList<int>)[] { (new[] { 1, 9 }, new[] { 5, 2 }), (new[] { 1, 9, 10, 11 }, new[] { 7, 8, 12, 2 }) };
        (Tensor logp, Tensor mask, _) = TokenLogProbs.Compute(model, sequences, 1.0, 0, CPU);
        Assert.Equal(new float[] { 1, 1, 0, 0, 1, 1, 1, 1 }, mask.data<float>().ToArray());
        // Alone (no padding) and with other padding ids, the short completion's log-probs are the same.
        (Tensor alone, _, _) = TokenLogProbs.Compute(model, sequences.Take(1).ToArray(), 1.0, 0, CPU);
        (Tensor otherPad, _, _) = TokenLogProbs.Compute(model, sequences, 1.0, 40, CPU);
        Assert.True(logp.narrow(1, 0, 2)[0].allclose(alone[0], rtol: 1e-5, atol: 1e-6));
        Assert.True(logp.mul(mask).allclose(otherPad.mul(mask), rtol: 1e-5, atol: 1e-6));
        // Summed over the mask they equal the preference objectives' independent sequence log-probs.
        (Tensor sum, _) = CompletionLogProbs.Compute(model, sequences.Select(s => ((IReadOnlyList<long>)s.Item1.Select(i => (long)i).ToArray(), (IReadOnlyList<long>)s.Item2.Select(i => (long)i).ToArray())).ToList(), 0, CPU);
        Assert.True(logp.mul(mask).sum(new long[] { 1 }).allclose(sum, rtol: 1e-5, atol: 1e-5));
    }
}

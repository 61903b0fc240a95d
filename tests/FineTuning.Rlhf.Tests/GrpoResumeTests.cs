using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using FineTuning.Models;
using FineTuning.Models.Llama;
using FineTuning.Rlhf.Grpo;
using FineTuning.Rlhf.Rewards;
using FineTuning.Testing;
using FineTuning.Training;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Rlhf.Tests;

public sealed class GrpoResumeTests : IDisposable
{
    private static readonly CharTokenizer Tokenizer = new();
    private readonly TempDirectory _dir = new("grpo-ckpt");

    public void Dispose() => _dir.Dispose();

    /// <summary>The vowel reward, recording every completion it scores (in order) so that runs can be compared sample by sample.</summary>
    private static IRewardFunction RecordingVowels(List<string> log) => RewardFunction.Create("vowels", (p, c) =>
    {
        lock (log) log.Add(c);
        return c.Length == 0 ? 0 : c.Count(ch => "aeiou".Contains(ch)) / (double)c.Length;
    });

    private static FineTuner<string> Builder(LlamaForCausalLM model, GrpoObjective objective, string? checkpoints) =>
        FineTuner.For(model).WithOptions(o =>
        {
            o.MaxSteps = 6;
            o.BatchSize = 2;
            o.GradientAccumulationSteps = 2; // 10 prompts: 3 steps per epoch, the last with one micro-batch; the data cycles
            o.LearningRate = 1e-2;
            o.Seed = 5;
            o.WarmupSteps = 0;
            o.CheckpointDirectory = checkpoints;
            o.CheckpointEverySteps = checkpoints is null ? 0 : 1;
            o.KeepCheckpoints = 10;
        }).WithGrpoObjective(objective);

    private static GrpoObjective Objective(List<string> log) =>
        new(Tokenizer, GrpoTrainingTests.Options(o => o.NumIterations = 2), new[] { RecordingVowels(log) });

    [Fact]
    public void Resume_AtCycleBoundary_SamplesAndLossesEqualTheUninterruptedRunBitForBit()
    {
        string[] prompts = GrpoTrainingTests.Prompts(10, seed: 1);
        var straightLog = new List<string>();
        GrpoObjective straight = Objective(straightLog);
        using LlamaForCausalLM straightModel = PreferenceTrainingTests.TinyLlama();
        using TrainingRun straightRun = Builder(straightModel, straight, null).Train(prompts);

        using (LlamaForCausalLM model = PreferenceTrainingTests.TinyLlama())
        using (TrainingRun checkpointed = Builder(model, Objective(new List<string>()), _dir.Path).Train(prompts))
            Assert.Equal(straightRun.History.Select(h => h.Loss), checkpointed.History.Select(h => h.Loss));

        // Step 5 starts a generation cycle (NumIterations = 2): the resumed run must sample what the straight run sampled.
        var resumedLog = new List<string>();
        GrpoObjective resumed = Objective(resumedLog);
        using LlamaForCausalLM resumedModel = PreferenceTrainingTests.TinyLlama(seed: 99); // other weights: the checkpoint overwrites them
        using TrainingRun resumedRun = Builder(resumedModel, resumed, _dir.Path).ResumeFrom(Path.Combine(_dir.Path, "checkpoint-4")).Train(prompts);

        Assert.Equal(straightRun.History.Select(h => h.Loss), resumedRun.History.Select(h => h.Loss));
        int tail = resumed.History.Count;
        Assert.True(tail >= 2, $"{tail} micro-batches after the resume");
        Assert.Equal(straight.History.Skip(straight.History.Count - tail).Select(Key), resumed.History.Select(Key));
        Assert.NotEmpty(resumedLog);
        Assert.Equal(straightLog.Skip(straightLog.Count - resumedLog.Count), resumedLog);
        foreach (((string name, var p), (_, var q)) in straightModel.named_parameters().Zip(resumedModel.named_parameters()))
            Assert.True(p.equal(q).all().item<bool>(), $"{name} differs after resuming");
    }

    private static (long, int, int, double, double, double) Key(GrpoMetrics m) => (m.Generation, m.Iteration, m.Completions, m.Reward, m.CompletionLength, m.Loss);

    [Fact]
    public void Resume_InsideANumIterationsCycle_NotSupportedYet()
    {
        string[] prompts = GrpoTrainingTests.Prompts(10, seed: 1);
        using (LlamaForCausalLM model = PreferenceTrainingTests.TinyLlama())
        using (Builder(model, Objective(new List<string>()), _dir.Path).WithOptions(o => o.MaxSteps = 4).Train(prompts))
        {
        }
        using LlamaForCausalLM resumedModel = PreferenceTrainingTests.TinyLlama();
        var e = Assert.Throws<NotSupportedException>(() =>
            Builder(resumedModel, Objective(new List<string>()), _dir.Path).WithOptions(o => o.MaxSteps = 4).ResumeFrom(Path.Combine(_dir.Path, "checkpoint-3")).Train(prompts));
        Assert.Contains("not supported yet", e.Message, StringComparison.Ordinal);
        Assert.Contains("step 4", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SummedLoss_EvalMode_IsMinusTheSummedRewardOfTheSampledCompletions()
    {
        using LlamaForCausalLM model = PreferenceTrainingTests.TinyLlama();
        model.eval();
        string[] prompts = GrpoTrainingTests.Prompts(3, seed: 2);
        var constant = new GrpoObjective(Tokenizer, GrpoTrainingTests.Options(), new[] { RewardFunction.Create("quarter", (_, _) => 0.25) });
        Assert.Equal(3 * 4, constant.CountTargets(prompts));
        Assert.Equal(-0.25 * 12, constant.SummedLoss(model, prompts, CPU).item<double>(), 12);

        var log = new List<string>();
        var vowels = new GrpoObjective(Tokenizer, GrpoTrainingTests.Options(), new[] { RecordingVowels(log) });
        double loss = vowels.SummedLoss(model, prompts, CPU).item<double>();
        double expected = -log.Sum(c => c.Length == 0 ? 0 : c.Count(ch => "aeiou".Contains(ch)) / (double)c.Length);
        Assert.Equal(12, log.Count);
        Assert.Equal(expected, loss, 12);
        // Seeded by the prompts: the same value again (every evaluation of a run compares the same random draws).
        Assert.Equal(loss, vowels.SummedLoss(model, prompts, CPU).item<double>());
        Assert.Equal(log.Take(12), log.Skip(12));
    }

    [Fact]
    public void SummedLoss_TrainingWithoutBeginStep_Throws()
    {
        using LlamaForCausalLM model = PreferenceTrainingTests.TinyLlama();
        var objective = new GrpoObjective(Tokenizer, GrpoTrainingTests.Options(), new[] { GrpoTrainingTests.Vowels });
        var e = Assert.Throws<InvalidOperationException>(() => objective.SummedLoss(model, new[] { "abc" }, CPU));
        Assert.Contains("BeginStep", e.Message, StringComparison.Ordinal);
    }
}

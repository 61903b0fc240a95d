using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using FineTuning.Models.Bert;
using FineTuning.Models.Llama;
using FineTuning.Rlhf.Grpo;
using FineTuning.Rlhf.Rewards;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Rlhf.Tests;

public sealed class GrpoRewardTests
{
    private static readonly CharTokenizer Tokenizer = new();

    [Fact]
    public void Score_SyncAndAsyncFunctions_WeightedSumPerCompletion()
    {
        IRewardFunction length = RewardFunction.Create("length", (_, c) => c.Length);
        IRewardFunction echo = RewardFunction.CreateAsync("echo", async (p, c, ct) =>
        {
            await Task.Delay(1, ct).ConfigureAwait(false);
            return c.StartsWith(p, StringComparison.Ordinal) ? 1 : 0;
        });
        var sampler = new RolloutSampler(Tokenizer, new GrpoOptions { RewardWeights = new[] { 0.5, -2.0 } }, new[] { length, echo });
        (double[][] perFunction, double[] total) = sampler.Score(new[] { "ab", "ab", "x" }, new[] { "abcd", "b", "xy" }, default);
        Assert.Equal(new double[] { 4, 1, 2 }, perFunction[0]);
        Assert.Equal(new double[] { 1, 0, 1 }, perFunction[1]);
        Assert.Equal(new[] { 0.5 * 4 - 2, 0.5, 0.5 * 2 - 2 }, total);
    }

    [Fact]
    public void Score_NonFiniteReward_ThrowsNamingFunctionAndCompletion()
    {
        var sampler = new RolloutSampler(Tokenizer, new GrpoOptions(), new[] { RewardFunction.Create("broken", (_, c) => c == "b" ? double.NaN : 1) });
        var e = Assert.Throws<InvalidOperationException>(() => sampler.Score(new[] { "p", "q" }, new[] { "a", "b" }, default));
        Assert.Contains("'broken'", e.Message, StringComparison.Ordinal);
        Assert.Contains("completion 1", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RewardModelReward_BatchedScores_EqualOneSequenceAtATime()
    {
        var config = new BertConfig
        {
            VocabSize = 48, HiddenSize = 32, NumHiddenLayers = 1, NumAttentionHeads = 4, IntermediateSize = 64,
            MaxPositionEmbeddings = 32, HiddenDropoutProb = 0, AttentionProbsDropoutProb = 0,
        };
        using var model = new BertForSequenceClassification(config, numLabels: 1, BertClassifierPooling.Mean);
        FineTuning.Testing.TinyModels.Initialise(model, 5);
        model.eval();
        IReadOnlyList<int> Encode(string p, string c) => Tokenizer.Encode(p + " " + c, addBos: true);
        var reward = new RewardModelReward(model, Encode, batchSize: 2);
        string[] prompts = { "ab", "cde", "f" }, completions = { "xyz", "q", "hello there" };
        IReadOnlyList<double> scores = await reward.ScoreAsync(prompts, completions, default);
        using var noGrad = no_grad();
        for (int i = 0; i < 3; i++)
        {
            using var scope = NewDisposeScope();
            long[] ids = Encode(prompts[i], completions[i]).Select(x => (long)x).ToArray();
            Tensor input = tensor(ids, new long[] { 1, ids.Length });
            double alone = model.call(input, ones_like(input), zeros_like(input)).to(ScalarType.Float64).item<double>();
            // Padding is masked out; fp32 sums in another order: relative error of a few ulps of the hidden size.
            Assert.Equal(alone, scores[i], 1e-5 * (1 + Math.Abs(alone)));
        }
    }

    [Theory]
    [InlineData(1, 0.2, "NumGenerations")]
    [InlineData(4, 1.5, "Epsilon")]
    public void Constructor_InvalidOptions_ThrowsNamingTheOption(int generations, double epsilon, string named)
    {
        var e = Assert.Throws<ArgumentException>(() => new GrpoObjective(Tokenizer, new GrpoOptions { NumGenerations = generations, Epsilon = epsilon, RewardWeights = new[] { 1.0, 2.0 } }, new[] { GrpoTrainingTests.Vowels }));
        Assert.Contains(named, e.Message, StringComparison.Ordinal);
        Assert.Contains("RewardWeights has 2 values for 1 reward functions", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_BetaWithoutScopedReference_Throws()
    {
        var e = Assert.Throws<ArgumentException>(() => new GrpoObjective(Tokenizer, new GrpoOptions { Beta = 0.04 }, new[] { GrpoTrainingTests.Vowels }));
        Assert.Contains("WithinScope", e.Message, StringComparison.Ordinal);
    }
}

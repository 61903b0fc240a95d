using System;
using System.Collections.Generic;
using System.Linq;
using FineTuning.Evaluation;
using FineTuning.Models.Bert;
using FineTuning.Rlhf.Data;
using FineTuning.Rlhf.Rewards;
using FineTuning.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Rlhf.Tests;

public sealed class RewardModelTests
{
    /// <summary>Returns a fixed score per sequence: the first token id divided by 10.</summary>
    private sealed class FixedScorer : nn.Module<Tensor, Tensor, Tensor, Tensor>
    {
#pragma warning disable IDE1006, SA1300
        private readonly TorchSharp.Modules.Parameter unused = new(zeros(1));
#pragma warning restore IDE1006, SA1300

        public FixedScorer()
            : base(nameof(FixedScorer)) => RegisterComponents();

        public override Tensor forward(Tensor ids, Tensor mask, Tensor types) =>
            ids.narrow(1, 0, 1).to(ScalarType.Float32).div(10).add(unused);
    }

    [Fact]
    public void BradleyTerry_HandComputed_WithMargin()
    {
        using var scope = NewDisposeScope();
        using var scorer = new FixedScorer();
        var pairs = new[] { new RewardPair(new[] { 5, 1 }, new[] { 2 }), new RewardPair(new[] { 1 }, new[] { 3 }, margin: 0.5) };
        // -log s(0.5 - 0.2) + -log s(0.1 - 0.3 - 0.5) = log(1 + e^-0.3) + log(1 + e^0.7)
        double expected = Math.Log(1 + Math.Exp(-0.3)) + Math.Log(1 + Math.Exp(0.7));
        Assert.Equal(expected, new BradleyTerryObjective().SummedLoss(scorer, pairs, CPU).item<float>(), 5);
        (double accuracy, double margin) = BradleyTerryObjective.Evaluate(scorer, pairs);
        Assert.Equal(0.5, accuracy);
        Assert.Equal((0.3 - 0.2) / 2, margin, 6);
    }

    [Fact]
    public void Evaluate_BradleyTerryOnFixedScorer_AccuracyAndMarginsAreHandComputed()
    {
        using var scorer = new FixedScorer();
        // Scores 0.5 vs 0.2 (right), 0.1 vs 0.3 (wrong), 0.4 vs 0.4 (a tie is not right); the pair margin only shifts the loss.
        var pairs = new[] { new RewardPair(new[] { 5, 1 }, new[] { 2 }), new RewardPair(new[] { 1 }, new[] { 3 }, margin: 0.5), new RewardPair(new[] { 4 }, new[] { 4, 9 }) };
        EvaluationMetrics m = FineTuner.For(scorer, new BradleyTerryObjective()).Evaluate(pairs);
        Assert.Equal(1.0 / 3, m.Metrics[MetricNames.Accuracy], 15);
        Assert.Equal((0.3 - 0.2 + 0.0) / 3, m.Metrics[MetricNames.RewardsMargins], 6); // float32 scores: ~1e-8 rounding
        double expectedLoss = (Math.Log(1 + Math.Exp(-0.3)) + Math.Log(1 + Math.Exp(0.7)) + Math.Log(2)) / 3;
        Assert.Equal(expectedLoss, m.Loss, 6);
        Assert.Equal(2, m.Metrics.Count);
    }

    /// <summary>Texts containing token 7 are preferred.</summary>
    private static List<RewardPair> ContainsSeven(int count, int seed)
    {
        var random = new Random(seed);
        int[] Text(bool seven)
        {
            int[] t = Enumerable.Range(0, 6).Select(_ => random.Next(8, 40)).ToArray();
            if (seven) t[random.Next(6)] = 7;
            return t;
        }
        return Enumerable.Range(0, count).Select(_ => new RewardPair(Text(true), Text(false))).ToList();
    }

    [Fact]
    public void RewardModel_OnTinyBert_LearnsHeldOutPreference()
    {
        var config = new BertConfig
        {
            VocabSize = 40, HiddenSize = 32, NumHiddenLayers = 2, NumAttentionHeads = 4, IntermediateSize = 64,
            MaxPositionEmbeddings = 16, HiddenDropoutProb = 0, AttentionProbsDropoutProb = 0,
        };
        using var model = new BertForSequenceClassification(config, numLabels: 1, BertClassifierPooling.Mean);
        FineTuning.Testing.TinyModels.Initialise(model, 5);
        List<RewardPair> train = ContainsSeven(96, seed: 1), heldOut = ContainsSeven(48, seed: 2);
        double before = BradleyTerryObjective.Evaluate(model, heldOut).Accuracy;

        using TrainingRun run = FineTuner.For(model, new BradleyTerryObjective())
            .WithOptions(o => { o.Epochs = 6; o.BatchSize = 16; o.LearningRate = 3e-3; })
            .Train(train);

        (double after, double margin) = BradleyTerryObjective.Evaluate(model, heldOut);
        Assert.True(after >= 0.9, $"held-out accuracy {before:P0} -> {after:P0}");
        Assert.True(margin > 0);
        Assert.Throws<PreferenceDataException>(() => new RewardPair(new[] { 1 }, new[] { 1 }));
    }
}

using System;
using System.Linq;
using FineTuning.Evaluation;
using FineTuning.Rlhf.Data;
using FineTuning.Rlhf.Losses;
using FineTuning.Testing;
using FineTuning.Training;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Rlhf.Tests;

public sealed class PreferenceValidationMetricsTests
{
    // The policy's next-token probabilities: each row of logits is log(probabilities summing to 1), so log-softmax gives
    // them back exactly. The reference is uniform: log p = log(1/3) for every token.
    private static readonly double[,] Policy =
    {
        { Math.Log(0.5), Math.Log(0.25), Math.Log(0.25) },
        { Math.Log(0.25), Math.Log(0.5), Math.Log(0.25) },
        { Math.Log(0.25), Math.Log(0.25), Math.Log(0.5) },
    };

    // Pair 0: after 0, chosen 0 1 (p = 0.5 * 0.25), rejected 2 (p = 0.25). Pair 1: after 1, chosen 2 (0.25), rejected 1 (0.5).
    private static readonly PreferencePair[] Pairs =
    {
        new(new long[] { 0 }, new long[] { 0, 1 }, new long[] { 2 }),
        new(new long[] { 1 }, new long[] { 2 }, new long[] { 1 }),
    };

    private const double Beta = 0.5;

    [Fact]
    public void Evaluate_DpoOnScriptedBigram_RewardMetricsAreHandComputed()
    {
        using var policy = new BigramModel(Policy);
        using var reference = new BigramModel(new double[3, 3]);
        var objective = new PreferenceObjective(new DpoLoss(beta: Beta));
        objective.AddReference(reference, Pairs);

        EvaluationMetrics m = FineTuner.For(policy, objective).Evaluate(Pairs);

        // DPO reward = beta * (log pi - log pi_ref).
        double third = Math.Log(1.0 / 3);
        double[] chosen = { Beta * (Math.Log(0.125) - 2 * third), Beta * (Math.Log(0.25) - third) };
        double[] rejected = { Beta * (Math.Log(0.25) - third), Beta * (Math.Log(0.5) - third) };
        double[] margins = { chosen[0] - rejected[0], chosen[1] - rejected[1] }; // 0.5 ln 1.5 > 0, 0.5 ln 0.5 < 0
        // Log-probabilities are computed in fp32 (SequenceLogProbs): each of magnitude < 3, a few roundings of 6e-8 relative.
        const double tolerance = 1e-6;
        Assert.Equal(chosen.Average(), m.Metrics[MetricNames.RewardsChosen], tolerance);
        Assert.Equal(rejected.Average(), m.Metrics[MetricNames.RewardsRejected], tolerance);
        Assert.Equal(0.5, m.Metrics[MetricNames.RewardsAccuracies]);
        Assert.Equal(margins.Average(), m.Metrics[MetricNames.RewardsMargins], tolerance);
        // The validation loss is the mean DPO loss, -log sigmoid(margin), over the pairs.
        Assert.Equal(margins.Average(h => Math.Log(1 + Math.Exp(-h))), m.Loss, tolerance);
        Assert.Equal(2, m.Targets);
    }

    [Fact]
    public void Train_DpoWithValidation_RewardMetricsAtStepZeroAndAMarginThatGrows()
    {
        using var policy = new BigramModel(Policy);
        var objective = new PreferenceObjective(new DpoLoss(beta: Beta));
        objective.AddReference(policy, Pairs); // the reference is the policy before training

        using TrainingRun run = FineTuner.For(policy, objective)
            .WithOptions(o => { o.MaxSteps = 5; o.BatchSize = 2; o.LearningRate = 0.1; o.ParameterDType = ScalarType.Float64; o.LogEverySteps = 0; })
            .WithValidation(Pairs)
            .Train(Pairs);

        EvaluationMetrics first = run.Evaluations[0], last = run.Evaluations[^1];
        Assert.Equal(0, first.Step);
        // Before training the policy is the reference: every reward is 0, so no pair is ranked right (0 > 0 is false).
        Assert.Equal(0, first.Metrics[MetricNames.RewardsMargins]); // the same fp32 computation on both sides
        Assert.Equal(0, first.Metrics[MetricNames.RewardsAccuracies]);
        Assert.Equal(Math.Log(2), first.Loss, 1e-6); // -log sigmoid(0), in fp32
        Assert.Equal(5, last.Step);
        Assert.True(last.Metrics[MetricNames.RewardsMargins] > 0, $"margin {last.Metrics[MetricNames.RewardsMargins]}");
        Assert.Equal(1, last.Metrics[MetricNames.RewardsAccuracies]);
        Assert.Equal(5, objective.History.Count); // one entry per training step: the validation passes add none
    }
}

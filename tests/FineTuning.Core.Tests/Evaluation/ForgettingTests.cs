using System;
using System.Collections.Generic;
using System.Linq;
using FineTuning.Evaluation;
using FineTuning.Models;
using FineTuning.Testing;
using FineTuning.Training;
using Microsoft.Extensions.Logging;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Core.Tests.Evaluation;

public sealed class ForgettingTests
{
    private static readonly TokenSequence[] GeneralText =
    {
        TokenSequence.ForLanguageModeling(new long[] { 0, 1, 2, 3, 4, 5, 6, 7 }),
        TokenSequence.ForLanguageModeling(new long[] { 7, 6, 5, 1, 2 }),
    };

    /// <summary>exp(mean over the targets of logsumexp(row of the previous token) - logit of the target), in float64.</summary>
    private static double HandPerplexity(double[,] table, IEnumerable<TokenSequence> text)
    {
        int vocab = table.GetLength(0);
        double sum = 0;
        int count = 0;
        foreach (TokenSequence s in text)
        {
            for (int t = 1; t < s.InputIds.Count; t++)
            {
                int previous = (int)s.InputIds[t - 1], next = (int)s.Labels[t];
                double max = Enumerable.Range(0, vocab).Max(c => table[previous, c]);
                double logSumExp = max + Math.Log(Enumerable.Range(0, vocab).Sum(c => Math.Exp(table[previous, c] - max)));
                sum += logSumExp - table[previous, next];
                count++;
            }
        }
        return Math.Exp(sum / count);
    }

    private static readonly TokenSequence[] Repeats = { TokenSequence.ForLanguageModeling(new long[] { 1, 1, 1, 1, 1, 1 }) };

    private static TrainingRun TrainOnRepeats(BigramModel model, double threshold, ListLogger? log = null, bool validate = false, bool everyEvaluation = true)
    {
        FineTuner<TokenSequence> builder = FineTuner.For(model, new CausalLMObjective())
            .WithOptions(o => { o.MaxSteps = 5; o.LearningRate = 0.3; o.ParameterDType = ScalarType.Float64; o.LogEverySteps = 0; o.EvaluateEverySteps = 2; })
            .WithEvaluation(e => e.Forgetting = new ForgettingCheck(GeneralText) { MaxRelativeIncrease = threshold, EveryEvaluation = everyEvaluation });
        if (validate) builder = builder.WithValidation(Repeats);
        if (log is not null) builder = builder.WithLogging(LoggerFactory.Create(b => b.AddProvider(log)));
        return builder.Train(Repeats);
    }

    [Fact]
    public void Train_WithValidation_RecordsGeneralPerplexityAtEveryEvaluationMatchingBeforeAndAfter()
    {
        using var model = new BigramModel(new double[8, 8]);
        using TrainingRun run = TrainOnRepeats(model, threshold: 100, validate: true);

        Assert.Equal(new long[] { 0, 2, 4, 5 }, run.Evaluations.Select(e => e.Step));
        double[] perplexities = run.Evaluations.Select(e => e.Metrics[MetricNames.GeneralPerplexity]).ToArray();
        ForgettingReport report = run.Forgetting!;
        // Step 0 is the untrained model (uniform logits: exactly 8), as "before" is for full fine-tuning; the last
        // evaluation is on the weights the run returns (no best weights restored), as "after" is.
        Assert.Equal(8.0, perplexities[0], Tolerance.Fp64Same(8));
        Assert.Equal(report.BeforePerplexity, perplexities[0], Tolerance.Fp64Same(report.BeforePerplexity));
        Assert.Equal(report.AfterPerplexity, perplexities[^1], Tolerance.Fp64Same(report.AfterPerplexity));
        double after = HandPerplexity(model.Table(), GeneralText);
        Assert.Equal(after, perplexities[^1], Tolerance.Fp64Same(after));
        // Training on '1 1 1' only makes 1 -> 1 likelier, so the general text (with 1 -> 2) gets steadily less likely.
        Assert.True(perplexities.Zip(perplexities.Skip(1)).All(p => p.Second > p.First), string.Join(", ", perplexities));
    }

    [Fact]
    public void Train_EveryEvaluationOff_RecordsNoGeneralPerplexityButStillReports()
    {
        using var model = new BigramModel(new double[8, 8]);
        using TrainingRun run = TrainOnRepeats(model, threshold: 100, validate: true, everyEvaluation: false);

        Assert.NotEmpty(run.Evaluations);
        Assert.All(run.Evaluations, e => Assert.False(e.Metrics.ContainsKey(MetricNames.GeneralPerplexity)));
        Assert.Equal(8.0, run.Forgetting!.BeforePerplexity, Tolerance.Fp64Same(8));
    }

    [Fact]
    public void Train_FullFineTuningOnRepeats_ForgettingIsTheHandComputedPerplexityRatioAndWarns()
    {
        var log = new ListLogger();
        using var model = new BigramModel(new double[8, 8]); // all logits 0: uniform, perplexity exactly 8
        using TrainingRun run = TrainOnRepeats(model, threshold: 0.05, log);

        ForgettingReport report = run.Forgetting!;
        double after = HandPerplexity(model.Table(), GeneralText);
        Assert.Equal(8.0, report.BeforePerplexity, Tolerance.Fp64Same(8));
        Assert.Equal(after, report.AfterPerplexity, Tolerance.Fp64Same(after));
        Assert.Equal(after / 8.0, report.Ratio, Tolerance.Fp64Same());
        Assert.False(report.AdaptersDisabled);
        Assert.Equal(11, report.Tokens);
        Assert.True(report.RelativeIncrease > 0.05, $"training on '1 1 1' made 1 -> 2 less likely; ratio {report.Ratio}");
        TrainingWarning warning = Assert.Single(run.Warnings);
        Assert.Equal("forgetting", warning.Code);
        Assert.Equal(5, warning.Step);
        Assert.Contains(log.Entries, e => e.Level == LogLevel.Warning && e.Message.StartsWith("forgetting at step 5", StringComparison.Ordinal));
    }

    [Fact]
    public void Train_IncreaseBelowThreshold_ReportsWithoutWarning()
    {
        using var model = new BigramModel(new double[8, 8]);
        using TrainingRun run = TrainOnRepeats(model, threshold: 100);
        Assert.False(run.Forgetting!.Forgot);
        Assert.Empty(run.Warnings);
    }

    [Fact]
    public void FromText_EncodesWithBosCutsAtMaxTokensAndDropsTextsShorterThanTwoTokens()
    {
        ForgettingCheck check = ForgettingCheck.FromText(new[] { "abc", "" }, new ByteTokenizer(), maxTokens: 3);
        TokenSequence only = Assert.Single(check.GeneralText);
        Assert.Equal(new long[] { 1, 'a' + 3, 'b' + 3 }, only.InputIds);
        Assert.Equal(only.InputIds, only.Labels);
    }

    [Fact]
    public void Constructor_NoTargets_ThrowsSaying()
    {
        Assert.Throws<ArgumentException>(() => new ForgettingCheck(Array.Empty<TokenSequence>()));
        var e = Assert.Throws<ArgumentException>(() => new ForgettingCheck(new[] { TokenSequence.ForLanguageModeling(new long[] { 5 }) }));
        Assert.Contains("no labelled token", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => ForgettingCheck.FromText(new[] { "" }, new ByteTokenizer()));
    }

    [Fact]
    public void WithEvaluation_ForgettingWithBadValues_ListsEveryProblem()
    {
        using var model = TinyModels.Mlp(2, 2, 2, seed: 1);
        var e = Assert.Throws<InvalidConfigurationException>(() => FineTuner.For(model, new VectorClassificationObjective())
            .WithEvaluation(o => o.Forgetting = new ForgettingCheck(GeneralText) { MaxRelativeIncrease = -1, BatchSize = 0 })
            .Train(new[] { new LabeledVector(new float[] { 1, 1 }, 1) }));
        Assert.Contains(e.Problems, p => p.Contains("MaxRelativeIncrease must be a finite number >= 0 (was -1)", StringComparison.Ordinal));
        Assert.Contains(e.Problems, p => p.Contains("ForgettingCheck.BatchSize must be at least 1 (was 0)", StringComparison.Ordinal));
    }
}

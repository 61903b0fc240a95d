using System;
using System.Linq;
using FineTuning.Core.Tests.Training;
using FineTuning.Evaluation;
using FineTuning.Models;
using FineTuning.Testing;
using FineTuning.Training;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Core.Tests.Evaluation;

public sealed class TaskMetricsTests
{
    private static readonly TokenSequence[] Validation =
    {
        // The successor model predicts t+1 after t. Targets: 2 (hit), 3 (hit), 5 (miss): 2 of 3.
        TokenSequence.ForLanguageModeling(new long[] { 1, 2, 3, 5 }),
        // Labels -100 are not counted: targets 4 (hit after 3), 0 (hit after 7, wrapping), 6 (miss after 0): 2 of 3.
        new TokenSequence(new long[] { 3, 4, 5, 7, 0, 6 }, new long[] { -100, 4, -100, -100, 0, 6 }),
    };

    [Fact]
    public void Evaluate_ScriptedSuccessorModel_MeanTokenAccuracyIsHandCount()
    {
        using var model = BigramModel.Successor(vocab: 8, scale: 10);
        EvaluationMetrics m = FineTuner.For(model, new CausalLMObjective()).Evaluate(Validation);
        Assert.Equal(4.0 / 6, m.Metrics[MetricNames.MeanTokenAccuracy], 15);
        Assert.Equal(6, m.Targets);
        Assert.Null(m.Classification);
    }

    [Fact]
    public void Train_ScriptedSuccessorModel_TokenAccuracyAtStepZeroAndAtTheEnd()
    {
        // Training only rescales each row's logits a little (the argmax stays), so the accuracy holds at every evaluation.
        using var model = BigramModel.Successor(vocab: 8, scale: 10);
        using TrainingRun run = FineTuner.For(model, new CausalLMObjective())
            .WithOptions(o => { o.MaxSteps = 2; o.LearningRate = 1e-3; o.ParameterDType = ScalarType.Float64; o.LogEverySteps = 0; })
            .WithValidation(Validation)
            .Train(new[] { TokenSequence.ForLanguageModeling(new long[] { 1, 2, 3, 4 }) });
        Assert.Equal(new long[] { 0, 1, 2 }, run.Evaluations.Select(e => e.Step)); // one step per epoch: evaluated at each epoch end
        Assert.All(run.Evaluations, e => Assert.Equal(4.0 / 6, e.Metrics[MetricNames.MeanTokenAccuracy], 15));
    }

    [Fact]
    public void Evaluate_TaskMetricsOff_HasNoMetrics()
    {
        using var model = BigramModel.Successor(vocab: 8, scale: 10);
        EvaluationMetrics m = FineTuner.For(model, new CausalLMObjective()).WithEvaluation(e => e.TaskMetrics = false).Evaluate(Validation);
        Assert.Empty(m.Metrics);
    }

    [Fact]
    public void Train_VectorClassifier_ValidationReportsAccuracyMacroF1AndMatrixOfTheIndependentArgmax()
    {
        using Mlp model = TinyModels.Mlp(2, 8, 2, seed: 3);
        var validation = TrainerTests.Rings(40, seed: 2);
        using TrainingRun run = FineTuner.For(model, new VectorClassificationObjective())
            .WithOptions(o => { o.MaxSteps = 3; o.BatchSize = 16; o.LearningRate = 0.05; o.LogEverySteps = 0; })
            .WithValidation(validation)
            .Train(TrainerTests.Rings(64, seed: 1));

        EvaluationMetrics first = run.Evaluations[0], last = run.Evaluations[^1];
        Assert.Equal(0, first.Step);
        Assert.NotNull(first.Classification);
        Assert.Equal(first.Classification!.Accuracy, first.Metrics[MetricNames.Accuracy]);

        // Independent: argmax of the trained model's logits, counted here.
        long[] predicted;
        using (no_grad())
        {
            using Tensor input = tensor(validation.SelectMany(v => v.Features).ToArray(), new long[] { validation.Count, 2 });
            using Tensor logits = model.call(input);
            predicted = logits.argmax(1).data<long>().ToArray();
        }
        long[] labels = validation.Select(v => v.Label).ToArray();
        ClassificationReport report = last.Classification!;
        for (int l = 0; l < 2; l++)
            for (int p = 0; p < 2; p++)
                Assert.Equal(labels.Zip(predicted).Count(x => x.First == l && x.Second == p), report[l, p]);
        Assert.Equal(VectorClassificationObjective.Accuracy(model, validation), last.Metrics[MetricNames.Accuracy], 15);
        double[] f1 = Enumerable.Range(0, 2).Select(c =>
        {
            double tp = report[c, c], fp = report[1 - c, c], fn = report[c, 1 - c];
            return tp == 0 ? 0 : 2 * tp / ((2 * tp) + fp + fn);
        }).ToArray();
        Assert.Equal(f1.Average(), last.Metrics[MetricNames.MacroF1], 12);
    }

    [Fact]
    public void AddNextTokenLogits_ShapesDisagree_ThrowsNamingBothShapes()
    {
        using Tensor logits = zeros(2, 3, 5);
        using Tensor labels = zeros(new long[] { 2, 4 }, ScalarType.Int64);
        var e = Assert.Throws<ArgumentException>(() => new PredictionRecorder().AddNextTokenLogits(logits, labels));
        Assert.Contains("[2, 3, 5]", e.Message, StringComparison.Ordinal);
        Assert.Contains("[2, 4]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddValues_TwoBatches_MetricIsTheMeanOverEveryValue()
    {
        var recorder = new PredictionRecorder();
        recorder.AddValues("rewards/margins", new[] { 1.0, -2.0 });
        recorder.AddValues("rewards/margins", new[] { 4.0 });
        recorder.AddValues("other", Array.Empty<double>());
        Assert.Equal(new[] { "rewards/margins" }, recorder.ToMetrics().Keys);
        Assert.Equal(1.0, recorder.ToMetrics()["rewards/margins"]);
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void AddValues_NonFiniteValue_ThrowsNamingMetricAndIndex(double bad)
    {
        var recorder = new PredictionRecorder();
        var e = Assert.Throws<ArgumentException>(() => recorder.AddValues("score", new[] { 0.5, bad }));
        Assert.Contains("Value 1 of the metric 'score'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ToMetrics_ValuesNamedLikeAClassMetric_ThrowsNamingIt()
    {
        var recorder = new PredictionRecorder();
        recorder.AddClassPredictions(new long[] { 0, 1 }, new long[] { 0, 0 }, classes: 2);
        recorder.AddValues(MetricNames.Accuracy, new[] { 1.0 });
        var e = Assert.Throws<InvalidOperationException>(() => recorder.ToMetrics());
        Assert.Contains("'accuracy'", e.Message, StringComparison.Ordinal);
    }
}

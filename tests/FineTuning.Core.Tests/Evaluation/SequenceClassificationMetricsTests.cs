using System.Linq;
using FineTuning.Evaluation;
using FineTuning.Models.Bert;
using FineTuning.Testing;
using FineTuning.Training;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Core.Tests.Evaluation;

public sealed class SequenceClassificationMetricsTests
{
    [Fact]
    public void Evaluate_TinyBertClassifier_ReportsTheConfusionMatrixOfItsOwnArgmax()
    {
        var config = new BertConfig { VocabSize = 16, HiddenSize = 8, NumHiddenLayers = 1, NumAttentionHeads = 2, IntermediateSize = 16, MaxPositionEmbeddings = 16 };
        using var model = new BertForSequenceClassification(config, numLabels: 3);
        TinyModels.Initialise(model, seed: 7);
        model.eval();
        var random = new System.Random(5);
        TextClassificationExample[] data = Enumerable.Range(0, 12)
            .Select(i => new TextClassificationExample(Enumerable.Range(0, 3 + (i % 3)).Select(_ => random.Next(1, 16)).ToArray(), i % 3))
            .ToArray();

        EvaluationMetrics m = FineTuner.For(model).WithOptions(o => o.BatchSize = 5).Evaluate(data);

        // Independent: each example alone (no padding), argmax of its logits. Padding changes the logits only by rounding
        // (~1e-7), so the argmax agrees on every CPU as long as no two logits are that close: checked first.
        long[] predicted = data.Select(e =>
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            Tensor ids = tensor(e.InputIds.Select(i => (long)i).ToArray(), 1, e.InputIds.Count);
            Tensor logits = model.forward(ids, ones_like(ids), zeros_like(ids));
            Tensor top = logits.topk(2).values;
            Assert.True((top[0, 0] - top[0, 1]).item<float>() > 1e-4, "the fixture has a near-tie; pick another seed");
            return logits.argmax(1).item<long>();
        }).ToArray();
        var expected = ClassificationReport.FromPredictions(data.Select(e => (long)e.Label).ToArray(), predicted, classes: 3);
        for (int l = 0; l < 3; l++)
            for (int p = 0; p < 3; p++)
                Assert.Equal(expected[l, p], m.Classification![l, p]);
        Assert.Equal(expected.Accuracy, m.Metrics[MetricNames.Accuracy]);
        Assert.Equal(expected.MacroF1, m.Metrics[MetricNames.MacroF1]);
    }
}

using System;
using System.Collections.Generic;
using System.Linq;
using FineTuning.Models.Bert;
using FineTuning.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Models.Tests.Bert;

/// <summary>BertForSequenceClassification and its objective on a tiny random BERT.</summary>
public sealed class SequenceClassificationTests
{
    private static readonly BertConfig Tiny = new()
    {
        VocabSize = 20, HiddenSize = 8, NumHiddenLayers = 1, NumAttentionHeads = 2, IntermediateSize = 16,
        MaxPositionEmbeddings = 16, HiddenDropoutProb = 0.0, AttentionProbsDropoutProb = 0.0,
    };

    private static readonly TextClassificationExample[] Examples =
    [
        new([2, 5, 7, 3], 0),
        new([2, 9, 3], 2),
        new([2, 4, 4, 4, 11, 3], 1),
    ];

    [Theory]
    [InlineData(BertClassifierPooling.Pooler)]
    [InlineData(BertClassifierPooling.Cls)]
    [InlineData(BertClassifierPooling.Mean)]
    public void SummedLoss_ThreeExamples_EqualsHandComputedCrossEntropySum(BertClassifierPooling pooling)
    {
        // float64: batched with padding and alone must be the same function, so only rounding (~1e-15) may differ.
        using var model = new BertForSequenceClassification(Tiny, numLabels: 3, pooling);
        model.to(ScalarType.Float64);
        model.eval();
        ITrainingObjective<TextClassificationExample> objective = ((IFineTunable<TextClassificationExample>)model).DefaultObjective;
        using var scope = NewDisposeScope();

        // Reference: run each example alone (no padding) and sum -log softmax(logits)[label] in doubles.
        double expected = 0;
        foreach (TextClassificationExample e in Examples)
        {
            Tensor ids = tensor(e.InputIds.Select(i => (long)i).ToArray(), 1, e.InputIds.Count);
            double[] logits = model.forward(ids, ones_like(ids), zeros_like(ids)).data<double>().ToArray();
            double max = logits.Max();
            double logSumExp = max + Math.Log(logits.Sum(l => Math.Exp(l - max)));
            expected += logSumExp - logits[e.Label];
        }

        Tensor loss = objective.SummedLoss(model, Examples, CPU);
        Assert.Equal(0, loss.dim());
        Assert.Equal(expected, loss.item<double>(), tolerance: 1e-9 * Math.Max(1, expected));
        Assert.Equal(3, objective.CountTargets(Examples));
    }

    [Fact]
    public void SummedLoss_Backward_ReachesClassifierAndEncoder()
    {
        using var model = new BertForSequenceClassification(Tiny, numLabels: 3);
        using var scope = NewDisposeScope();
        Tensor loss = model.DefaultObjective.SummedLoss(model, Examples, CPU);
        loss.backward();
        var named = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        Assert.Equal(Tiny.HiddenSize * 3, named["classifier.weight"].grad!.count_nonzero().item<long>());
        Assert.True(named["bert.encoder.layer.0.attention.self.query.weight"].grad!.abs().sum().item<float>() > 0);
    }

    [Fact]
    public void SummedLoss_RepeatedStepsInDisposeScopes_DoNotLeakTensors()
    {
        using var model = new BertForSequenceClassification(Tiny, numLabels: 3, BertClassifierPooling.Mean);
        long Step()
        {
            using (var scope = NewDisposeScope())
            {
                model.DefaultObjective.SummedLoss(model, Examples, CPU).backward();
            }
            model.zero_grad();
            return TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        }
        Step();
        long before = Step();
        for (int i = 0; i < 3; i++) Step();
        Assert.Equal(before, Step());
    }

    [Fact]
    public void StateDict_Classifier_UsesHfSequenceClassificationKeys()
    {
        using var model = new BertForSequenceClassification(Tiny, numLabels: 2);
        ICollection<string> keys = model.state_dict().Keys;
        Assert.Contains("classifier.weight", keys);
        Assert.Contains("classifier.bias", keys);
        Assert.Contains("bert.pooler.dense.weight", keys);
        Assert.Equal(MiniLMLoadingTests.ExpectedHfNames(1).Select(k => "bert." + k).Append("classifier.weight").Append("classifier.bias").Order(StringComparer.Ordinal),
            keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void SummedLoss_LabelOutOfRange_ThrowsArgumentException()
    {
        using var model = new BertForSequenceClassification(Tiny, numLabels: 2);
        using var scope = NewDisposeScope();
        Assert.Throws<ArgumentException>(() => model.DefaultObjective.SummedLoss(model, [new TextClassificationExample([2, 3], 2)], CPU));
    }

    [Fact]
    public void Constructor_PoolerPoolingWithoutPooler_Throws()
    {
        using var encoder = new BertModel(Tiny, addPoolingLayer: false);
        Assert.Throws<ArgumentException>(() => new BertForSequenceClassification(encoder, 2, BertClassifierPooling.Pooler));
    }
}

using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using FineTuning.Models.Bert;
using Xunit;

namespace FineTuning.Models.Tests.Bert;

/// <summary>Reading all-MiniLM-L6-v2 out of the package DLL: names, config, folder layout, errors.</summary>
[Collection(MiniLMCollection.Name)]
public sealed class MiniLMLoadingTests
{
    private readonly MiniLMFixture _fixture;

    public MiniLMLoadingTests(MiniLMFixture fixture) => _fixture = fixture;

    internal static IEnumerable<string> ExpectedHfNames(int layers)
    {
        yield return "embeddings.word_embeddings.weight";
        yield return "embeddings.position_embeddings.weight";
        yield return "embeddings.token_type_embeddings.weight";
        yield return "embeddings.LayerNorm.weight";
        yield return "embeddings.LayerNorm.bias";
        string[] linear = ["attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense", "intermediate.dense", "output.dense"];
        string[] norms = ["attention.output.LayerNorm", "output.LayerNorm"];
        for (int i = 0; i < layers; i++)
        {
            foreach (string m in linear.Concat(norms))
            {
                yield return $"encoder.layer.{i}.{m}.weight";
                yield return $"encoder.layer.{i}.{m}.bias";
            }
        }
        yield return "pooler.dense.weight";
        yield return "pooler.dense.bias";
    }

    [Fact]
    public void WeightNames_AnonymousMatMulWeights_MapToExactlyTheHfBertNames()
    {
        Assert.Equal(ExpectedHfNames(6).Order(StringComparer.Ordinal), _fixture.Checkpoint.WeightNames.Order(StringComparer.Ordinal));
        Assert.Equal(103, _fixture.Checkpoint.WeightNames.Count);
    }

    [Fact]
    public void StateDict_OfBertModel_HasExactlyTheHfKeys()
    {
        Assert.Equal(ExpectedHfNames(6).Order(StringComparer.Ordinal), _fixture.Model.state_dict().Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void CreateStateDict_LinearWeights_AreTransposedToOutIn()
    {
        Dictionary<string, TorchSharp.torch.Tensor> weights = _fixture.Checkpoint.CreateStateDict();
        try
        {
            Assert.Equal([1536L, 384L], weights["encoder.layer.3.intermediate.dense.weight"].shape);
            Assert.Equal([384L, 1536L], weights["encoder.layer.3.output.dense.weight"].shape);
            Assert.Equal([384L, 384L], weights["encoder.layer.5.attention.self.value.weight"].shape);
        }
        finally
        {
            foreach (TorchSharp.torch.Tensor t in weights.Values) t.Dispose();
        }
    }

    [Fact]
    public void Config_InferredFromGraph_IsAllMiniLML6V2()
    {
        BertConfig c = _fixture.Checkpoint.Config;
        Assert.Equal((30522, 384, 6, 12, 1536, 512, 2), (c.VocabSize, c.HiddenSize, c.NumHiddenLayers, c.NumAttentionHeads, c.IntermediateSize, c.MaxPositionEmbeddings, c.TypeVocabSize));
        Assert.Equal(1e-12, c.LayerNormEps, 1e-18);
        Assert.Equal(30522, _fixture.Checkpoint.Vocabulary.Count);
    }

    [Fact]
    public void Load_ExtractedFolder_GivesTheSameCheckpoint()
    {
        string folder = Path.Combine(Path.GetTempPath(), "finetuning-minilm-" + Guid.NewGuid().ToString("N"));
        try
        {
            MiniLM.Extract(_fixture.AssemblyPath, folder);
            BertOnnxCheckpoint fromFolder = MiniLM.Load(folder);
            Assert.Equal(_fixture.Checkpoint.WeightNames.Order(StringComparer.Ordinal), fromFolder.WeightNames.Order(StringComparer.Ordinal));
            Assert.Equal(_fixture.Checkpoint.Vocabulary, fromFolder.Vocabulary);
            Assert.Equal(_fixture.Checkpoint.Config.ToJson(), fromFolder.Config.ToJson());
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void Load_MissingPath_ThrowsFineTuningException()
    {
        Assert.Throws<FineTuningException>(() => MiniLM.Load(Path.Combine(Path.GetTempPath(), "no-such-minilm-" + Guid.NewGuid().ToString("N"))));
    }

    [Fact]
    public void FromAssembly_FileThatIsNotAnAssembly_ThrowsFineTuningException()
    {
        Assert.Throws<FineTuningException>(() => MiniLM.FromAssembly(_fixture.VocabPath));
    }

    [Fact]
    public void FromAssembly_AssemblyWithoutTheResources_ThrowsFineTuningException()
    {
        var e = Assert.Throws<FineTuningException>(() => MiniLM.FromAssembly(typeof(BertModel).Assembly.Location));
        Assert.Contains(MiniLM.ModelResourceName, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BertConfig_JsonRoundTrip_UsesHfFieldNames()
    {
        string json = _fixture.Checkpoint.Config.ToJson();
        Assert.Contains("\"num_attention_heads\": 12", json, StringComparison.Ordinal);
        Assert.Equal(json, BertConfig.FromJson(json).ToJson());
        var e = Assert.Throws<FineTuningException>(() => BertConfig.FromJson("{\"hidden_size\": 10, \"num_attention_heads\": 3, \"hidden_act\": \"relu\"}"));
        Assert.Contains("num_attention_heads", e.Message, StringComparison.Ordinal);
        Assert.Contains("hidden_act", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CreateModel_ReturnsTheModelInEvalModeAsEveryLoader()
    {
        using BertModel model = _fixture.Checkpoint.CreateModel();
        Assert.False(model.training);
        Assert.Empty(model.named_modules().Where(m => m.module.training).Select(m => m.name));
        using BertModel bare = _fixture.Checkpoint.CreateModel(addPoolingLayer: false);
        Assert.Empty(bare.named_modules().Where(m => m.module.training).Select(m => m.name).Prepend(bare.training ? "(root)" : null).OfType<string>());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SequenceClassifier_OverAnEncoder_TakesTheEncodersMode(bool training)
    {
        BertModel encoder = _fixture.Checkpoint.CreateModel(addPoolingLayer: false);
        encoder.train(training);
        using var classifier = new BertForSequenceClassification(encoder, numLabels: 2, BertClassifierPooling.Mean);
        Assert.Equal(training, classifier.training);
        Assert.All(classifier.named_modules(), m => Assert.True(m.module.training == training, $"{m.name} is in the other mode"));
    }
}

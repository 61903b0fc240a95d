using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using FineTuning.Lora.Peft;
using FineTuning.Lora.TrainableTokens;
using FineTuning.Models;
using FineTuning.Models.Llama;
using FineTuning.Models.SafeTensors;
using FineTuning.Testing;
using FineTuning.Training;
using TorchSharp;
using TorchSharp.Modules;
using FsCheck.Xunit;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Lora.Tests.TrainableTokens;

/// <summary>PEFT's trainable_token_indices on LoRA: only the chosen rows train, and they save and load in PEFT's layout.</summary>
public sealed class TrainableTokensTests : IDisposable
{
    private readonly TempDirectory _dir = new("tokens");

    public void Dispose() => _dir.Dispose();

    private static readonly int[] Chosen = { 3, 7 };

    private static LlamaForCausalLM Untied()
    {
        var config = new LlamaConfig
        {
            HiddenSize = 32, IntermediateSize = 64, NumHiddenLayers = 2, NumAttentionHeads = 4, NumKeyValueHeads = 2,
            VocabSize = 48, MaxPositionEmbeddings = 64, TieWordEmbeddings = false,
        };
        var model = new LlamaForCausalLM(config);
        using var g = new Generator(12);
        model.InitializeWeights(g, std: 0.3);
        return model;
    }

    private static TrainingRun Train(LlamaForCausalLM model, Action<LoRAOptions> tokens) =>
        FineTuner.For(model)
            .WithLoRA(r: 4, alpha: 8, configure: tokens)
            .WithOptions(o => { o.Epochs = 2; o.BatchSize = 8; o.LearningRate = 1e-2; o.Schedule = new ConstantSchedule(); })
            .Train(LlamaLoRATrainingTests.Counting(32, seed: 1));

    /// <summary>Indices of the rows of <paramref name="after"/> that differ from <paramref name="before"/> at all.</summary>
    private static int[] ChangedRows(Tensor before, Tensor after) =>
        before.ne(after).any(1).nonzero().flatten().data<long>().Select(i => (int)i).ToArray();

    [Fact]
    public void WithLoRA_TrainableTokenIndices_TiedModel_OnlyChosenRowsChange()
    {
        using var scope = NewDisposeScope();
        using LlamaForCausalLM model = LlamaLoRATrainingTests.TinyLlama();
        Tensor embedding = model.named_parameters().Single(p => p.name == "model.embed_tokens.weight").parameter.detach().clone();

        using TrainingRun run = Train(model, o => { foreach (int t in Chosen) o.TrainableTokenIndices.Add(t); });

        (string name, TrainableTokensWrapper wrapper) = Assert.Single(TrainableTokenWrappers.Wrappers(model));
        Assert.Equal("model.embed_tokens", name);
        Tensor baseWeight = model.named_parameters().Single(p => p.name == "model.embed_tokens.token_adapter.base_layer.weight").parameter;
        Assert.True(baseWeight.equal(embedding).all().item<bool>(), "the base embedding must stay frozen");
        using (no_grad())
            Assert.Equal(Chosen, ChangedRows(embedding, wrapper.EffectiveWeight()));
        // Only LoRA factors and the token rows are trainable.
        Assert.All(model.named_parameters().Where(p => p.parameter.requires_grad),
            p => Assert.True(p.name.Contains(".lora_", StringComparison.Ordinal) || p.name == "model.embed_tokens.token_adapter.trainable_tokens_delta.default", p.name));
    }

    [Fact]
    public void WithLoRA_TrainableTokensByModule_UntiedHead_OnlyChosenRowsOfBothChange()
    {
        using var scope = NewDisposeScope();
        using LlamaForCausalLM model = Untied();
        Tensor embedding = model.named_parameters().Single(p => p.name == "model.embed_tokens.weight").parameter.detach().clone();
        Tensor head = model.named_parameters().Single(p => p.name == "lm_head.weight").parameter.detach().clone();

        using TrainingRun run = Train(model, o =>
        {
            o.TrainableTokenIndicesByModule["embed_tokens"] = new List<int> { 3 };
            o.TrainableTokenIndicesByModule["lm_head"] = new List<int> { 3, 7 };
        });

        Dictionary<string, TrainableTokensWrapper> wrappers = TrainableTokenWrappers.Wrappers(model).ToDictionary(w => w.Name, w => w.Wrapper);
        using (no_grad())
        {
            Assert.Equal(new[] { 3 }, ChangedRows(embedding, wrappers["model.embed_tokens"].EffectiveWeight()));
            Assert.Equal(Chosen, ChangedRows(head, wrappers["lm_head"].EffectiveWeight()));
        }
    }

    /// <summary>Trains rows <see cref="Chosen"/> with LoRA; returns the run, an input using them and the trained model's logits for it.</summary>
    private static (TrainingRun Run, Tensor Input, Tensor Logits) TrainChosen(LlamaForCausalLM model)
    {
        TrainingRun run = Train(model, o => { foreach (int t in Chosen) o.TrainableTokenIndices.Add(t); });
        model.eval();
        Tensor input = tensor(new long[] { 3, 7, 1, 2, 3, 7 }).unsqueeze(0);
        return (run, input, model.call(input));
    }

    [Fact]
    public void Save_TrainableTokens_WritesPeftKeyAndConfig_LoadGivesSameLogits()
    {
        using var scope = NewDisposeScope();
        using LlamaForCausalLM model = LlamaLoRATrainingTests.TinyLlama();
        (TrainingRun run, Tensor input, Tensor expected) = TrainChosen(model);
        using TrainingRun disposeRun = run;

        run.SaveAdapter(_dir.Path);

        using (SafeTensorsReader reader = SafeTensorsReader.Open(Path.Combine(_dir.Path, PeftAdapter.WeightsFileName)))
        {
            SafeTensorInfo rows = reader.Tensors.Single(t => t.Name.Contains("token_adapter", StringComparison.Ordinal));
            Assert.Equal("base_model.model.model.embed_tokens.token_adapter.trainable_tokens_delta", rows.Name);
            Assert.Equal(new long[] { 2, 32 }, rows.Shape);
        }
        using (JsonDocument config = JsonDocument.Parse(File.ReadAllText(Path.Combine(_dir.Path, PeftAdapterConfig.FileName))))
            Assert.Equal(Chosen, config.RootElement.GetProperty("trainable_token_indices").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(Chosen, PeftAdapterConfig.Read(Path.Combine(_dir.Path, PeftAdapterConfig.FileName)).TrainableTokenIndices);

        using LlamaForCausalLM fresh = LlamaLoRATrainingTests.TinyLlama();
        PeftAdapter.Load(fresh, _dir.Path);
        fresh.eval();
        Assert.True(fresh.call(input).equal(expected).all().item<bool>());
    }

    [Fact]
    public void MergeAndUnload_TrainableTokens_PlainEmbeddingWithSameLogits()
    {
        using var scope = NewDisposeScope();
        using LlamaForCausalLM model = LlamaLoRATrainingTests.TinyLlama();
        (TrainingRun run, Tensor input, Tensor expected) = TrainChosen(model);
        using TrainingRun disposeRun = run;

        LoRA.MergeAndUnload(model);

        Assert.Empty(TrainableTokenWrappers.Wrappers(model));
        Assert.Contains(model.named_parameters(), p => p.name == "model.embed_tokens.weight");
        // Merging LoRA rounds in fp32 (W + s*B*A computed once instead of per call): relative, not exact, agreement.
        Assert.True(model.call(input).allclose(expected, rtol: 1e-4, atol: 1e-4));
    }

    [Fact]
    public void DisableAdapters_TrainableTokens_BaseLogitsBack()
    {
        using var scope = NewDisposeScope();
        using LlamaForCausalLM model = LlamaLoRATrainingTests.TinyLlama();
        model.eval();
        Tensor input = tensor(new long[] { 3, 7, 1, 2 }).unsqueeze(0);
        Tensor before = model.call(input);
        using TrainingRun run = Train(model, o => { foreach (int t in Chosen) o.TrainableTokenIndices.Add(t); });
        model.eval();

        using (LoRA.DisableAdapters(model))
            Assert.True(model.call(input).equal(before).all().item<bool>());
        Assert.False(model.call(input).equal(before).all().item<bool>());
    }

    /// <summary>Freshly applied, trainable tokens are the identity (their rows start as copies), whatever rows are chosen.</summary>
    [Property(MaxTest = 25)]
    public bool Apply_AnyDistinctRows_EffectiveWeightEqualsBase(int[] picks)
    {
        int[] rows = (picks ?? Array.Empty<int>()).Select(p => ((p % 48) + 48) % 48).Distinct().DefaultIfEmpty(5).ToArray();
        using var scope = NewDisposeScope();
        using LlamaForCausalLM model = LlamaLoRATrainingTests.TinyLlama();
        Tensor embedding = model.named_parameters().Single(p => p.name == "model.embed_tokens.weight").parameter.detach().clone();
        var options = new LoRAOptions();
        foreach (int r in rows) options.TrainableTokenIndices.Add(r);
        new LoRAAdapter(options).Apply(model);
        TrainableTokensWrapper wrapper = TrainableTokenWrappers.Wrappers(model).Single().Wrapper;
        using (no_grad())
            return wrapper.EffectiveWeight().equal(embedding).all().item<bool>() && wrapper.TokenAdapter.TokenIndices.SequenceEqual(rows);
    }

    [Theory]
    [InlineData(48, "token 48 is outside \"model.embed_tokens\"'s 48 rows")]
    [InlineData(-1, "token -1 is outside")]
    [InlineData(3, "token 3 is listed twice")]
    public void WithLoRA_BadTrainableTokenIndex_ConfigurationErrorNamesIt(int bad, string expected)
    {
        using LlamaForCausalLM model = LlamaLoRATrainingTests.TinyLlama();
        var e = Assert.Throws<InvalidConfigurationException>(() => Train(model, o => { o.TrainableTokenIndices.Add(3); o.TrainableTokenIndices.Add(bad); }));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WithLoRA_TrainableTokensOnUnknownModule_ConfigurationErrorListsLayers()
    {
        using LlamaForCausalLM model = LlamaLoRATrainingTests.TinyLlama();
        var e = Assert.Throws<InvalidConfigurationException>(() => Train(model, o => o.TrainableTokenIndicesByModule["wordembeds"] = new List<int> { 1 }));
        Assert.Contains("names \"wordembeds\", but no embedding or linear layer has that name", e.Message, StringComparison.Ordinal);
        Assert.Contains("model.embed_tokens", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_TokenRowsOfWrongShape_AdapterFormatErrorNamesTensor()
    {
        using var scope = NewDisposeScope();
        using LlamaForCausalLM model = LlamaLoRATrainingTests.TinyLlama();
        using TrainingRun run = Train(model, o => { foreach (int t in Chosen) o.TrainableTokenIndices.Add(t); });
        run.SaveAdapter(_dir.Path);
        string configPath = Path.Combine(_dir.Path, PeftAdapterConfig.FileName);
        File.WriteAllText(configPath, File.ReadAllText(configPath).Replace("\"trainable_token_indices\": [\n    3,\n    7\n  ]", "\"trainable_token_indices\": [3]", StringComparison.Ordinal));

        using LlamaForCausalLM fresh = LlamaLoRATrainingTests.TinyLlama();
        var e = Assert.Throws<AdapterFormatException>(() => PeftAdapter.Load(fresh, _dir.Path));
        Assert.Contains("trainable_tokens_delta\" has shape [2, 32] but the model needs [1, 32]", e.Message, StringComparison.Ordinal);
        Assert.Empty(TrainableTokenWrappers.Wrappers(fresh));
    }
}

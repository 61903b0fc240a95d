using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using FineTuning.Models.HuggingFace;
using FineTuning.Models.Llama;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Lora.Tests;

/// <summary>merge_and_unload and unload: the plain architecture comes back, computing what the adapted model computed.</summary>
public sealed class MergeAndUnloadTests
{
    private static readonly long[] Ids = { 1, 5, 9, 14, 3, 30, 2, 7, 11, 4 };

    private static LlamaForCausalLM TinyLlama(ScalarType dtype)
    {
        var config = new LlamaConfig
        {
            HiddenSize = 32, IntermediateSize = 48, NumHiddenLayers = 2, NumAttentionHeads = 4, NumKeyValueHeads = 2,
            VocabSize = 40, MaxPositionEmbeddings = 64, AttentionBias = true, ModelType = "qwen2", OutputProjectionBias = false,
        };
        var model = new LlamaForCausalLM(config, dtype: dtype);
        using var g = new Generator(5);
        model.InitializeWeights(g, std: 0.3);
        return model;
    }

    /// <summary>Applies LoRA (or DoRA) to every linear layer but the head (named: AllLinear would also match the LoRA layers of an earlier adapter) and gives every B (and DoRA magnitude) random values.</summary>
    private static void Adapt(nn.Module model, bool dora, string name = "default", ulong seed = 9)
    {
        new LoRAAdapter(new LoRAOptions { R = 4, Alpha = 8, AdapterName = name, UseDoRA = dora, Targets = LoRATargets.Names("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj") }).Apply(model);
        using var g = new Generator(seed);
        using var noGrad = no_grad();
        foreach ((_, LoRALinear layer) in LoRA.Layers(model))
        {
            layer.B(name).normal_(0, 0.2, g);
            if (dora) layer.Magnitude(name).mul_(1.1);
        }
    }

    private static Tensor Logits(LlamaForCausalLM model)
    {
        using var noGrad = no_grad();
        using Tensor ids = tensor(Ids, new long[] { 2, 5 });
        return model.Forward(ids).detach();
    }

    private static double MaxRelative(Tensor actual, Tensor expected)
    {
        using Tensor diff = (actual - expected).abs().max();
        using Tensor scale = expected.abs().max();
        return diff.item<double>() / scale.item<double>();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void MergeAndUnload_Fp64Model_LogitsEqualAdapterModel_PlainArchitectureBack(bool dora)
    {
        using LlamaForCausalLM model = TinyLlama(ScalarType.Float64);
        string[] baseKeys = model.state_dict().Keys.Order(StringComparer.Ordinal).ToArray();
        Adapt(model, dora);
        using Tensor adapted = Logits(model);

        Assert.Same(model, LoRA.MergeAndUnload(model));

        using Tensor merged = Logits(model);
        // fp64 arithmetic on both sides: only the order of the additions differs (x(W + sBA)^T vs xW^T + s(xA^T)B^T).
        Assert.True(MaxRelative(merged, adapted) < 1e-12, $"relative difference {MaxRelative(merged, adapted):E2}");
        Assert.Empty(LoRA.Layers(model));
        Assert.DoesNotContain(model.named_modules(), m => m.module is LoRALinear);
        Assert.Equal(baseKeys, model.state_dict().Keys.Order(StringComparer.Ordinal).ToArray());
        Assert.All(model.named_modules().Where(m => m.name.EndsWith("q_proj", StringComparison.Ordinal)), m => Assert.IsType<TorchSharp.Modules.Linear>(m.module));
    }

    [Fact]
    public void Unload_AfterAdapting_RestoresBaseExactly()
    {
        using LlamaForCausalLM model = TinyLlama(ScalarType.Float32);
        Dictionary<string, Tensor> before = model.state_dict().ToDictionary(p => p.Key, p => p.Value.detach().clone());
        using Tensor original = Logits(model);
        Adapt(model, dora: true);

        LoRA.Unload(model);

        Dictionary<string, Tensor> after = model.state_dict();
        Assert.Equal(before.Keys.Order(StringComparer.Ordinal), after.Keys.Order(StringComparer.Ordinal));
        foreach ((string key, Tensor value) in before) Assert.True(value.equal(after[key]).all().item<bool>(), $"{key} changed");
        using Tensor restored = Logits(model);
        Assert.True(restored.equal(original).all().item<bool>());
    }

    [Fact]
    public void Unload_AfterMerge_SubtractsTheMergedUpdate()
    {
        using LlamaForCausalLM model = TinyLlama(ScalarType.Float64);
        using Tensor original = Logits(model);
        Adapt(model, dora: false);
        LoRA.Merge(model);

        LoRA.Unload(model);

        using Tensor restored = Logits(model);
        Assert.True(MaxRelative(restored, original) < 1e-12, $"relative difference {MaxRelative(restored, original):E2}");
    }

    [Fact]
    public void MergeAndUnload_SeveralAdapters_MergesTheActiveOneOnly()
    {
        using LlamaForCausalLM model = TinyLlama(ScalarType.Float64);
        Adapt(model, dora: false, name: "first", seed: 1);
        Adapt(model, dora: false, name: "second", seed: 2);
        LoRA.SetActiveAdapter(model, "first");
        using Tensor first = Logits(model);

        LoRA.MergeAndUnload(model);

        using Tensor merged = Logits(model);
        Assert.True(MaxRelative(merged, first) < 1e-12);
    }

    [Fact]
    public void MergeAndUnload_NonFiniteUpdate_RefusedAndModelUnchanged()
    {
        using LlamaForCausalLM model = TinyLlama(ScalarType.Float32);
        Adapt(model, dora: false);
        Dictionary<string, Tensor> before = model.state_dict().ToDictionary(p => p.Key, p => p.Value.detach().clone());
        (string lastName, LoRALinear last) = LoRA.Layers(model)[^1];
        using (no_grad()) last.B("default").fill_(float.PositiveInfinity);

        var e = Assert.Throws<InvalidOperationException>(() => LoRA.MergeAndUnload(model));

        Assert.Contains("unchanged", e.Message, StringComparison.Ordinal);
        Assert.Contains(lastName, e.Message, StringComparison.Ordinal);
        Assert.Equal(14, LoRA.Layers(model).Count);
        Assert.All(LoRA.Layers(model), l => Assert.Empty(l.Layer.MergedAdapters));
        foreach ((string key, Tensor value) in model.state_dict().Where(p => !p.Key.Equals(lastName + ".lora_B.default.weight", StringComparison.Ordinal)))
            Assert.True(value.equal(before[key]).all().item<bool>(), $"{key} changed");
    }

    [Fact]
    public void MergeAndUnload_NoLoRALayers_Throws()
    {
        using LlamaForCausalLM model = TinyLlama(ScalarType.Float32);
        Assert.Throws<InvalidOperationException>(() => LoRA.MergeAndUnload(model));
        Assert.Throws<InvalidOperationException>(() => LoRA.Unload(model));
    }

    [Fact]
    public void HfCheckpointSave_AfterMergeOnly_ErrorNamesMergeAndUnload_AfterMergeAndUnload_LoadsBackSameLogits()
    {
        string folder = Path.Combine(Path.GetTempPath(), "ft-merge-" + Guid.NewGuid().ToString("N"));
        try
        {
            using LlamaForCausalLM model = TinyLlama(ScalarType.Float32);
            Adapt(model, dora: false);
            LoRA.Merge(model);
            var e = Assert.Throws<ArgumentException>(() => HfCheckpoint.Save(model, folder));
            Assert.Contains("LoRA.MergeAndUnload", e.Message, StringComparison.Ordinal);

            LoRA.MergeAndUnload(model);
            using Tensor merged = Logits(model);
            HfCheckpoint.Save(model, folder);
            using LlamaForCausalLM loaded = HfCheckpoint.Load<LlamaForCausalLM>(folder);
            using Tensor reloaded = Logits(loaded);
            Assert.True(reloaded.equal(merged).all().item<bool>());
        }
        finally
        {
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        }
    }
}

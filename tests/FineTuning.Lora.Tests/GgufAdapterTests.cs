using System;
using System.IO;
using System.Linq;
using FineTuning.Lora.Gguf;
using FineTuning.Models.Gguf;
using FineTuning.Models.Llama;
using FineTuning.Testing;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Lora.Tests;

/// <summary>Structure of the LoRA-adapter GGUF (llama.cpp itself checks it in FineTuning.Interop.Tests).</summary>
public sealed class GgufAdapterTests : IDisposable
{
    private readonly TempDirectory folder = new("ft-gguf-lora-");

    public void Dispose() => folder.Dispose();

    private string Target => Path.Combine(folder.Path, "adapter.gguf");

    private static LlamaForCausalLM Adapted(LoRAOptions options, string modelType = "llama")
    {
        var config = new LlamaConfig
        {
            ModelType = modelType, HiddenSize = 32, IntermediateSize = 64, NumHiddenLayers = 2, NumAttentionHeads = 4, NumKeyValueHeads = 2,
            VocabSize = 48, MaxPositionEmbeddings = 64,
        };
        var model = new LlamaForCausalLM(config);
        using var g = new Generator(11);
        model.InitializeWeights(g, std: 0.3);
        new LoRAAdapter(options).Apply(model);
        using var noGrad = no_grad();
        foreach ((string _, LoRALinear layer) in LoRA.Layers(model)) layer.B(options.AdapterName).normal_(0, 0.1, g);
        return model;
    }

    [Fact]
    public void Save_LlamaAdapter_MetadataNamesShapesAndPermutedB()
    {
        using LlamaForCausalLM model = Adapted(new LoRAOptions { R = 4, Alpha = 8 });
        GgufExportResult result = GgufAdapter.Save(model, Target);
        GgufReader file = GgufReader.Read(Target);
        Assert.Equal("llama", file.Metadata["general.architecture"]);
        Assert.Equal("adapter", file.Metadata["general.type"]);
        Assert.Equal("lora", file.Metadata["adapter.type"]);
        Assert.Equal(8f, file.Metadata["adapter.lora.alpha"]);
        Assert.Equal(2 * 7 * 2, file.Tensors.Count);
        Assert.Equal(result.Tensors.Select(t => t.Name), file.Tensors.Select(t => t.Name));
        // PEFT shapes: A [r, in], B [out, r]; ggml's ne is the reverse, as llama.cpp's loader checks.
        Assert.Equal(new long[] { 4, 32 }, file.Tensor("blk.0.attn_q.weight.lora_a").Shape);
        Assert.Equal(new long[] { 16, 4 }, file.Tensor("blk.1.attn_k.weight.lora_b").Shape);
        Assert.Equal(new long[] { 32, 4 }, file.Tensor("blk.0.ffn_down.weight.lora_b").Shape);

        LoRALinear q = LoRA.Layers(model).Single(l => l.Name == "model.layers.1.self_attn.q_proj").Layer;
        LoRALinear k = LoRA.Layers(model).Single(l => l.Name == "model.layers.1.self_attn.k_proj").Layer;
        LoRALinear v = LoRA.Layers(model).Single(l => l.Name == "model.layers.1.self_attn.v_proj").Layer;
        using var scope = NewDisposeScope();
        Assert.Equal(q.A("default").data<float>().ToArray(), file.Values("blk.1.attn_q.weight.lora_a"));
        Assert.Equal(v.B("default").data<float>().ToArray(), file.Values("blk.1.attn_v.weight.lora_b"));
        // B's rows follow the base weight's rows: the same pairwise permutation (undone here with llama2.c's inverse).
        Tensor qb = torch.tensor(file.Values("blk.1.attn_q.weight.lora_b"), new long[] { 32, 4 });
        Tensor kb = torch.tensor(file.Values("blk.1.attn_k.weight.lora_b"), new long[] { 16, 4 });
        Assert.True(Llama2CCheckpoint.PairwiseToRotateHalf(qb, 4, 8).equal(q.B("default")).all().item<bool>());
        Assert.True(Llama2CCheckpoint.PairwiseToRotateHalf(kb, 2, 8).equal(k.B("default")).all().item<bool>());
    }

    [Fact]
    public void Save_RsLoRA_ScaleFoldedSoThatAlphaOverRGivesTheSameUpdate()
    {
        using LlamaForCausalLM model = Adapted(new LoRAOptions { R = 4, Alpha = 8, UseRsLoRA = true });
        GgufAdapter.Save(model, Target);
        GgufReader file = GgufReader.Read(Target);
        float alpha = (float)file.Metadata["adapter.lora.alpha"];
        LoRALinear up = LoRA.Layers(model).Single(l => l.Name == "model.layers.0.mlp.up_proj").Layer;
        using var scope = NewDisposeScope();
        Tensor a = torch.tensor(file.Values("blk.0.ffn_up.weight.lora_a"), new long[] { 4, 32 });
        Tensor b = torch.tensor(file.Values("blk.0.ffn_up.weight.lora_b"), new long[] { 64, 4 });
        // llama.cpp adds (alpha / r) * B @ A; PEFT's rsLoRA update is alpha / sqrt(r) * B @ A = 4 * B @ A.
        Tensor llamaCpp = b.matmul(a).mul(alpha / 4.0);
        Assert.True(llamaCpp.allclose(up.Delta("default"), rtol: 1e-5, atol: 1e-7));
        Assert.Equal(4.0, up.Scaling("default"), 12);
    }

    [Fact]
    public void Save_Qwen2Adapter_BNotPermuted()
    {
        using LlamaForCausalLM model = Adapted(new LoRAOptions { R = 2, Alpha = 2 }, "qwen2");
        GgufAdapter.Save(model, Target, tensorType: GgufTensorType.F16);
        GgufReader file = GgufReader.Read(Target);
        Assert.Equal("qwen2", file.Metadata["general.architecture"]);
        LoRALinear q = LoRA.Layers(model).Single(l => l.Name == "model.layers.0.self_attn.q_proj").Layer;
        float[] expected = q.B("default").data<float>().ToArray().Select(x => (float)(Half)x).ToArray();
        Assert.Equal(expected, file.Values("blk.0.attn_q.weight.lora_b"));
    }

    [Fact]
    public void Save_DoRA_NotSupportedAndNoFile()
    {
        using LlamaForCausalLM model = Adapted(new LoRAOptions { R = 2, UseDoRA = true });
        NotSupportedException e = Assert.Throws<NotSupportedException>(() => GgufAdapter.Save(model, Target));
        Assert.Contains("DoRA", e.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(folder.Path));
    }

    [Fact]
    public void Save_TrainableTokens_NotSupportedAndNoFile()
    {
        var options = new LoRAOptions { R = 2 };
        options.TrainableTokenIndices.Add(2);
        using LlamaForCausalLM model = Adapted(options);
        NotSupportedException e = Assert.Throws<NotSupportedException>(() => GgufAdapter.Save(model, Target));
        Assert.Contains("trainable_token_indices", e.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(folder.Path));
    }

    [Fact]
    public void Save_UnknownOrMergedAdapter_InvalidOperationAndNoFile()
    {
        using LlamaForCausalLM model = Adapted(new LoRAOptions { R = 2 });
        Assert.Contains("\"other\"", Assert.Throws<InvalidOperationException>(() => GgufAdapter.Save(model, Target, "other")).Message, StringComparison.Ordinal);
        LoRA.Merge(model);
        Assert.Contains("merged", Assert.Throws<InvalidOperationException>(() => GgufAdapter.Save(model, Target)).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => GgufAdapter.Save(model, Target, tensorType: GgufTensorType.Q8_0));
        Assert.Empty(Directory.GetFiles(folder.Path));
    }

    [Fact]
    public void ModelSave_ModelWithAdapterLayers_TypedErrorNamingTheParameter()
    {
        using LlamaForCausalLM model = Adapted(new LoRAOptions { R = 2 });
        var vocabulary = new GgufVocabulary { Tokens = Enumerable.Range(0, 48).Select(i => $"t{i}").ToArray() };
        GgufExportException e = Assert.Throws<GgufExportException>(() => GgufExporter.Save(model, vocabulary, Target));
        Assert.Contains("base_layer", e.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(folder.Path));
    }
}

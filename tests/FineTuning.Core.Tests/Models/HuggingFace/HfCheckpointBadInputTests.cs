using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using FineTuning.Models;
using FineTuning.Models.HuggingFace;
using FineTuning.Core.Tests.Models.Llama;
using FineTuning.Models.Llama;
using FineTuning.Models.SafeTensors;
using FineTuning.Testing;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Core.Tests.Models.HuggingFace;

public sealed class HfCheckpointBadInputTests
{
    private static readonly HfCase LlamaCase = HfCase.All().Single(c => c.Name == "llama-gqa-untied");
    private static readonly HfCase Gpt2Case = HfCase.All().Single(c => c.Name == "gpt2");

    [Fact]
    public void Load_UnknownModelType_ThrowsListingSupportedTypes()
    {
        using var folder = new TempDirectory("ft-hf-");
        using nn.Module model = LlamaCase.Create();
        LlamaCase.Write(folder.Path, model, LlamaCase.ConfigJson.Replace("\"model_type\": \"llama\"", "\"model_type\": \"falcon\"", StringComparison.Ordinal));

        var e = Assert.Throws<ModelConfigException>(() => HfCheckpoint.Load(folder.Path));

        Assert.Contains("falcon", e.Message, StringComparison.Ordinal);
        Assert.Contains("config.json", e.Message, StringComparison.Ordinal);
        foreach (string type in HfCheckpoint.SupportedModelTypes) Assert.Contains(type, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_MissingTensor_ThrowsNamingFileAndTensor()
    {
        var e = LoadWith(LlamaCase, t => t.Remove("model.layers.1.mlp.up_proj.weight"));

        Assert.Equal(new[] { "model.layers.1.mlp.up_proj.weight" }, e.TensorNames);
        Assert.Contains("'model.layers.1.mlp.up_proj.weight' is missing", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_UnexpectedTensor_ThrowsNamingFileAndTensor()
    {
        var e = LoadWith(LlamaCase, t => t.Add("model.layers.0.mlp.gate_proj.bias", torch.ones(48)));

        Assert.Equal(new[] { "model.layers.0.mlp.gate_proj.bias" }, e.TensorNames);
        Assert.Contains("model.safetensors: tensor 'model.layers.0.mlp.gate_proj.bias' is unexpected", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_ShapeMismatch_ThrowsNamingShapes()
    {
        var e = LoadWith(LlamaCase, t => t["model.norm.weight"] = torch.ones(31));

        Assert.Equal(new[] { "model.norm.weight" }, e.TensorNames);
        Assert.Contains("model.safetensors: tensor 'model.norm.weight' has shape [31], the model expects [32]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_Gpt2Conv1DNotTransposed_ThrowsShapeMismatch()
    {
        // A square Conv1D (c_proj 32x32) cannot be caught, but c_attn [32, 96] stored as torch's [96, 32] must be.
        var e = LoadWith(Gpt2Case, t => t["transformer.h.0.attn.c_attn.weight"] = t["transformer.h.0.attn.c_attn.weight"].t().contiguous());

        Assert.Equal(new[] { "transformer.h.0.attn.c_attn.weight" }, e.TensorNames);
        Assert.Contains("stored transposed", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_IntegerWeight_ThrowsDTypeProblem()
    {
        var e = LoadWith(LlamaCase, t => t["model.norm.weight"] = torch.ones(32, dtype: ScalarType.Int32));

        Assert.Contains("'model.norm.weight' has dtype I32", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_ManyProblems_ReportsAllInOneException()
    {
        var e = LoadWith(LlamaCase, t =>
        {
            t.Remove("lm_head.weight");
            t["model.norm.weight"] = torch.ones(2);
            t.Add("extra", torch.ones(1));
        });

        Assert.Equal(3, e.Problems.Count);
    }

    [Fact]
    public void Load_MixedDTypesKeptAsStored_Throws()
    {
        using var folder = new TempDirectory("ft-hf-");
        using nn.Module model = LlamaCase.Create();
        using var scope = torch.NewDisposeScope();
        Dictionary<string, Tensor> tensors = LlamaCase.FileTensors(model);
        tensors["model.norm.weight"] = tensors["model.norm.weight"].to_type(ScalarType.BFloat16);
        File.WriteAllText(Path.Combine(folder.Path, "config.json"), LlamaCase.ConfigJson);
        SafeTensorsWriter.Write(Path.Combine(folder.Path, "model.safetensors"), tensors);

        var e = Assert.Throws<CheckpointWeightsException>(() => HfCheckpoint.Load(folder.Path, dtype: null));
        Assert.Contains("BFloat16", e.Message, StringComparison.Ordinal);
        using nn.Module converted = HfCheckpoint.Load(folder.Path); // float32 requested: mixed files are fine
        Assert.All(converted.parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));
    }

    [Fact]
    public void Load_LegacyRotaryInvFreqBuffer_SkippedAsHfDoes()
    {
        using var folder = new TempDirectory("ft-hf-");
        using nn.Module model = LlamaCase.Create();
        using var scope = torch.NewDisposeScope();
        Dictionary<string, Tensor> tensors = LlamaCase.FileTensors(model);
        tensors.Add("model.layers.0.self_attn.rotary_emb.inv_freq", torch.ones(4));
        File.WriteAllText(Path.Combine(folder.Path, "config.json"), LlamaCase.ConfigJson);
        SafeTensorsWriter.Write(Path.Combine(folder.Path, "model.safetensors"), tensors);

        using nn.Module loaded = HfCheckpoint.Load(folder.Path);

        Assert.IsType<LlamaForCausalLM>(loaded);
    }

    [Theory]
    [InlineData("llama-tied", "lm_head.weight", "model.embed_tokens.weight")]
    [InlineData("gpt2", "lm_head.weight", "transformer.wte.weight")]
    public void Load_TiedHeadStoredAsCopy_AcceptedOnlyWhenIdentical(string caseName, string head, string embeddings)
    {
        HfCase c = HfCase.All().Single(x => x.Name == caseName);
        using var same = new TempDirectory("ft-hf-");
        using var different = new TempDirectory("ft-hf-");
        using nn.Module model = c.Create();
        using var scope = torch.NewDisposeScope();
        Dictionary<string, Tensor> tensors = c.FileTensors(model);
        File.WriteAllText(Path.Combine(same.Path, "config.json"), c.ConfigJson);
        File.WriteAllText(Path.Combine(different.Path, "config.json"), c.ConfigJson);
        SafeTensorsWriter.Write(Path.Combine(same.Path, "model.safetensors"), new Dictionary<string, Tensor>(tensors) { [head] = tensors[embeddings].clone() });
        SafeTensorsWriter.Write(Path.Combine(different.Path, "model.safetensors"), new Dictionary<string, Tensor>(tensors) { [head] = tensors[embeddings] * 2 });

        using nn.Module loaded = HfCheckpoint.Load(same.Path);
        var e = Assert.Throws<CheckpointWeightsException>(() => HfCheckpoint.Load(different.Path));

        Assert.Equal(new[] { head }, e.TensorNames);
        Assert.Contains("tied output head", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_BertConfigWithWrongType_ThrowsNamingConfigFile()
    {
        HfCase bert = HfCase.All().Single(c => c.Name == "bert");
        using var folder = new TempDirectory("ft-hf-");
        using nn.Module model = bert.Create();
        bert.Write(folder.Path, model, bert.ConfigJson.Replace("\"num_attention_heads\": 4", "\"num_attention_heads\": \"four\"", StringComparison.Ordinal));

        var e = Assert.Throws<ModelConfigException>(() => HfCheckpoint.Load(folder.Path));

        Assert.Contains(Path.Combine(folder.Path, "config.json"), e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_TruncatedSafeTensors_ThrowsFormatErrorNamingFile()
    {
        using var folder = new TempDirectory("ft-hf-");
        using nn.Module model = LlamaCase.Create();
        LlamaCase.Write(folder.Path, model);
        string path = Path.Combine(folder.Path, "model.safetensors");
        byte[] bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length - 100)]);

        var e = Assert.Throws<SafeTensorsFormatException>(() => HfCheckpoint.Load(folder.Path));

        Assert.Equal(path, e.FilePath);
    }

    [Theory]
    [InlineData("\"hidden_size\": 32", "\"hidden_size\": \"wide\"")]
    [InlineData("\"tie_word_embeddings\": false", "\"tie_word_embeddings\": 3")]
    [InlineData("\"num_hidden_layers\": 2", "\"num_hidden_layers\": -2")]
    [InlineData("\"rope_theta\": 10000.0", "\"rope_theta\": 10000.0, \"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 4}")]
    [InlineData("\"rope_theta\": 10000.0", "\"rope_theta\": 10000.0, \"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": \"big\"}")]
    public void Load_ConfigWithWrongTypesOrValues_ThrowsNamingConfigFile(string find, string replace)
    {
        using var folder = new TempDirectory("ft-hf-");
        using nn.Module model = LlamaCase.Create();
        LlamaCase.Write(folder.Path, model, LlamaCase.ConfigJson.Replace(find, replace, StringComparison.Ordinal));

        var e = Assert.Throws<ModelConfigException>(() => HfCheckpoint.Load(folder.Path));

        Assert.Contains(Path.Combine(folder.Path, "config.json"), e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\"n_embd\": 32", "\"n_embd\": [32]")]
    [InlineData("\"activation_function\": \"gelu_new\"", "\"activation_function\": \"relu\"")]
    [InlineData("\"scale_attn_weights\": true", "\"scale_attn_weights\": false")]
    public void Load_Gpt2ConfigWrongOrUnsupported_ThrowsNamingConfigFile(string find, string replace)
    {
        using var folder = new TempDirectory("ft-hf-");
        using nn.Module model = Gpt2Case.Create();
        Gpt2Case.Write(folder.Path, model, Gpt2Case.ConfigJson.Replace(find, replace, StringComparison.Ordinal));

        var e = Assert.Throws<ModelConfigException>(() => HfCheckpoint.Load(folder.Path));

        Assert.Contains(Path.Combine(folder.Path, "config.json"), e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("config.json")]
    [InlineData("model.safetensors")]
    public void Load_FileMissing_ThrowsModelFileException(string missing)
    {
        using var folder = new TempDirectory("ft-hf-");
        using nn.Module model = LlamaCase.Create();
        LlamaCase.Write(folder.Path, model);
        File.Delete(Path.Combine(folder.Path, missing));

        Assert.Throws<ModelFileException>(() => HfCheckpoint.Load(folder.Path));
    }

    [Fact]
    public void Forward_MistralBeyondSlidingWindow_ThrowsInsteadOfComputingFullAttention()
    {
        using LlamaForCausalLM model = new(TinyLlama.Config() with { SlidingWindow = 4, ModelType = "mistral" });
        using Tensor ok = torch.ones(1, 4, dtype: ScalarType.Int64);
        using Tensor tooLong = torch.ones(1, 5, dtype: ScalarType.Int64);
        using var noGrad = torch.no_grad();

        using Tensor logits = model.forward(ok);
        Assert.Throws<ArgumentException>(() => model.forward(tooLong));
    }

    [Theory]
    [InlineData("qwen2", false, true)]
    [InlineData("llama", true, false)]
    [InlineData("gemma", false, true)]
    public void Save_LlamaConfigThatWouldNotLoadBack_ThrowsBeforeWriting(string modelType, bool bias, bool outputBias)
    {
        using var folder = new TempDirectory("ft-hf-");
        using LlamaForCausalLM model = new(TinyLlama.Config(bias: bias) with { ModelType = modelType, OutputProjectionBias = outputBias });

        Assert.Throws<ArgumentException>(() => HfCheckpoint.Save(model, folder.Path));
        Assert.Empty(Directory.GetFiles(folder.Path));
    }

    private static CheckpointWeightsException LoadWith(HfCase c, Action<Dictionary<string, Tensor>> edit)
    {
        using var folder = new TempDirectory("ft-hf-");
        using nn.Module model = c.Create();
        using var scope = torch.NewDisposeScope();
        Dictionary<string, Tensor> tensors = c.FileTensors(model);
        edit(tensors);
        File.WriteAllText(Path.Combine(folder.Path, "config.json"), c.ConfigJson);
        SafeTensorsWriter.Write(Path.Combine(folder.Path, "model.safetensors"), tensors);
        var e = Assert.Throws<CheckpointWeightsException>(() => HfCheckpoint.Load(folder.Path));
        Assert.Equal(folder.Path, e.Folder);
        return e;
    }
}

using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using FineTuning.Models.Bert;
using FineTuning.Models.Gpt2;
using FineTuning.Models.HuggingFace;
using FineTuning.Models.Llama;
using FineTuning.Models.SafeTensors;
using FineTuning.Testing;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Core.Tests.Models.HuggingFace;

public sealed class HfCheckpointRoundTripTests
{
    public static TheoryData<string> Cases() => new(HfCase.All().Select(c => c.Name));

    [Theory]
    [MemberData(nameof(Cases))]
    public void LoadSaveReload_HandWrittenFolder_LogitsBitIdenticalAndTensorsExact(string name)
    {
        HfCase c = HfCase.All().Single(x => x.Name == name);
        using var written = new TempDirectory("ft-hf-");
        using var saved = new TempDirectory("ft-hf-");
        using nn.Module original = c.Create();
        c.Write(written.Path, original);
        using var noGrad = torch.no_grad();
        using Tensor expected = c.Run(original);

        using nn.Module loaded = HfCheckpoint.Load(written.Path);
        Assert.Equal(original.GetType(), loaded.GetType());
        Assert.False(loaded.training);
        using (Tensor actual = c.Run(loaded)) Assert.True(actual.eq(expected).all().item<bool>(), $"{name}: loaded logits differ");

        HfCheckpoint.Save(loaded, saved.Path);
        using nn.Module reloaded = HfCheckpoint.Load(saved.Path);
        using (Tensor again = c.Run(reloaded)) Assert.True(again.eq(expected).all().item<bool>(), $"{name}: reloaded logits differ");

        // Every tensor the test wrote comes back byte for byte (skipped legacy buffers excepted), and nothing else is written.
        using ISafeTensorsReader a = SafeTensorsCheckpoint.Open(written.Path);
        using ISafeTensorsReader b = SafeTensorsCheckpoint.Open(saved.Path);
        var expectedNames = a.Tensors.Select(t => t.Name)
            .Where(n => !n.Contains("position_ids", StringComparison.Ordinal) && !Regex.IsMatch(n, @"^h\.\d+\.attn\.(masked_)?bias$"))
            .Select(n => name == "gpt2-bare-names" ? "transformer." + n : n)
            .Order(StringComparer.Ordinal).ToList();
        Assert.Equal(expectedNames, b.Tensors.Select(t => t.Name).Order(StringComparer.Ordinal));
        foreach (SafeTensorInfo info in a.Tensors.Where(t => expectedNames.Contains(name == "gpt2-bare-names" ? "transformer." + t.Name : t.Name)))
        {
            using Tensor x = a.Load(info.Name);
            using Tensor y = b.Load(name == "gpt2-bare-names" ? "transformer." + info.Name : info.Name);
            Assert.Equal(x.bytes.ToArray(), y.bytes.ToArray());
        }
    }

    [Fact]
    public void Save_AboveShardSize_WritesIndexAndReloadsIdentically()
    {
        using var folder = new TempDirectory("ft-hf-");
        using LlamaForCausalLM model = TinyLlama2();
        HfCheckpoint.Save(model, folder.Path, new HfSaveOptions { MaxShardBytes = 8_000 });

        Assert.True(File.Exists(Path.Combine(folder.Path, "model.safetensors.index.json")));
        Assert.False(File.Exists(Path.Combine(folder.Path, "model.safetensors")));
        Assert.True(Directory.GetFiles(folder.Path, "model-*-of-*.safetensors").Length > 1);
        using var noGrad = torch.no_grad();
        using LlamaForCausalLM reloaded = HfCheckpoint.Load<LlamaForCausalLM>(folder.Path);
        using Tensor ids = HfCase.Tokens();
        using Tensor x = model.forward(ids);
        using Tensor y = reloaded.forward(ids);
        Assert.True(x.eq(y).all().item<bool>());

        // Saving into the non-empty folder is refused; with Overwrite the folder is replaced as a whole, so no shard or
        // index of the earlier layout is left beside the new single file.
        Assert.Throws<IOException>(() => HfCheckpoint.Save(model, folder.Path));
        HfCheckpoint.Save(model, folder.Path, new HfSaveOptions { Overwrite = true });
        Assert.False(File.Exists(Path.Combine(folder.Path, "model.safetensors.index.json")));
        Assert.Empty(Directory.GetFiles(folder.Path, "model-*-of-*.safetensors"));
        using LlamaForCausalLM single = HfCheckpoint.Load<LlamaForCausalLM>(folder.Path);
    }

    [Fact]
    public void Load_Bf16FileKeepOrConvert_ParametersHaveRequestedDType()
    {
        using var folder = new TempDirectory("ft-hf-");
        using LlamaForCausalLM model = TinyLlama2();
        using (LlamaForCausalLM bf16 = new(model.Config, dtype: ScalarType.BFloat16))
        {
            using var noGrad = torch.no_grad();
            foreach ((string n, Tensor p) in bf16.state_dict()) p.copy_(model.state_dict()[n]);
            HfCheckpoint.Save(bf16, folder.Path);
        }

        Assert.Contains("\"torch_dtype\": \"bfloat16\"", File.ReadAllText(Path.Combine(folder.Path, "config.json")), StringComparison.Ordinal);
        using LlamaForCausalLM asStored = HfCheckpoint.Load<LlamaForCausalLM>(folder.Path, dtype: null);
        using LlamaForCausalLM asFloat = HfCheckpoint.Load<LlamaForCausalLM>(folder.Path);
        Assert.All(asStored.parameters(), p => Assert.Equal(ScalarType.BFloat16, p.dtype));
        Assert.All(asFloat.parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));
        using Tensor expected = asStored.state_dict()["lm_head.weight"].to_type(ScalarType.Float32);
        Assert.True(asFloat.state_dict()["lm_head.weight"].eq(expected).all().item<bool>());
    }

    [Theory]
    [InlineData("gpt2")]
    [InlineData("bert")]
    [InlineData("bert-classifier")]
    public void SaveLoad_Bf16Model_KeepsBf16AndValues(string name)
    {
        HfCase c = HfCase.All().Single(x => x.Name == name);
        using var folder = new TempDirectory("ft-hf-");
        using nn.Module model = c.Create();
        model.to(ScalarType.BFloat16);
        HfCheckpoint.Save(model, folder.Path);

        using nn.Module loaded = HfCheckpoint.Load(folder.Path, dtype: null);

        Dictionary<string, Tensor> expected = HfCase.StateDict(model);
        Assert.All(loaded.state_dict(), kv =>
        {
            Assert.Equal(ScalarType.BFloat16, kv.Value.dtype);
            Assert.True(kv.Value.eq(expected[kv.Key]).all().item<bool>(), kv.Key);
        });
    }

    [Fact]
    public void LoadSave_Repeatedly_LiveTensorCountDoesNotGrow()
    {
        using var folder = new TempDirectory("ft-hf-");
        using (Gpt2LMHeadModel seed = HfCase.CreateGpt2()) HfCheckpoint.Save(seed, folder.Path);
        void Once()
        {
            using nn.Module model = HfCheckpoint.Load(folder.Path);
            HfCheckpoint.Save(model, folder.Path, new HfSaveOptions { Overwrite = true });
        }

        Once();
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (int i = 0; i < 5; i++) Once();

        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [Fact]
    public void Save_ImplicitKeyValueHeadsAndHeadDim_WritesHfValues()
    {
        using var folder = new TempDirectory("ft-hf-");
        using LlamaForCausalLM model = new(Llama.TinyLlama.Config(kvHeads: 0) with { HeadDim = 0 });

        HfCheckpoint.Save(model, folder.Path);

        using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(folder.Path, "config.json")));
        System.Text.Json.JsonElement root = json.RootElement;
        Assert.Equal(4, root.GetProperty("num_key_value_heads").GetInt32());
        Assert.False(root.TryGetProperty("head_dim", out _));
        Assert.Equal("llama", root.GetProperty("model_type").GetString());
        Assert.Equal("LlamaForCausalLM", root.GetProperty("architectures")[0].GetString());
        Assert.Equal("silu", root.GetProperty("hidden_act").GetString());
    }

    [Fact]
    public void Load_WrongModelTypeRequested_ThrowsNamingBoth()
    {
        using var folder = new TempDirectory("ft-hf-");
        using LlamaForCausalLM model = TinyLlama2();
        HfCheckpoint.Save(model, folder.Path);

        var e = Assert.Throws<FineTuning.Models.ModelConfigException>(() => HfCheckpoint.Load<Gpt2LMHeadModel>(folder.Path));
        Assert.Contains("LlamaForCausalLM", e.Message, StringComparison.Ordinal);
    }

    private static LlamaForCausalLM TinyLlama2() => Llama.TinyLlama.Create(Llama.TinyLlama.Config());
}

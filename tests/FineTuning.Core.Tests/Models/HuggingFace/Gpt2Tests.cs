using System;
using System.Collections.Generic;
using System.Linq;
using FineTuning.Core.Tests.Models.Llama;
using FineTuning.Generation;
using FineTuning.Models;
using FineTuning.Models.Gpt2;
using FineTuning.Models.HuggingFace;
using FineTuning.Testing;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Core.Tests.Models.HuggingFace;

public sealed class Gpt2Tests
{
    private static readonly HfCase Gpt2Case = HfCase.All().Single(c => c.Name == "gpt2");

    [Fact]
    public void Forward_LoadedFromHfLayout_EqualsReferenceWithConv1DSemantics()
    {
        using var folder = new TempDirectory("ft-hf-");
        using nn.Module original = Gpt2Case.Create();
        Gpt2Case.Write(folder.Path, original);
        // Loaded in float64 (as are the file's tensors for the reference): the two computations claim the same function,
        // so only rounding (~1e-15) may differ, whatever kernels this CPU gets.
        using Gpt2LMHeadModel model = HfCheckpoint.Load<Gpt2LMHeadModel>(folder.Path, ScalarType.Float64);
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        Dictionary<string, Tensor> w = Gpt2Case.FileTensors(original).ToDictionary(kv => kv.Key, kv => kv.Value.to(ScalarType.Float64));
        Tensor ids = HfCase.Tokens();

        Tensor expected = Reference(w, ids, layers: 2, heads: 4);
        Tensor actual = model.forward(ids);

        Assert.Equal(new long[] { 2, 7, 67 }, actual.shape);
        Assert.True(actual.allclose(expected, rtol: 1e-9, atol: Tolerance.Fp64Same()), $"max difference {(actual - expected).abs().max().item<double>()}");
    }

    [Fact]
    public void GenerateIds_WithKVCache_EqualsWithoutCacheIncludingLeftPaddedBatch()
    {
        using Gpt2LMHeadModel model = HfCase.CreateGpt2();
        var generator = new TextGenerator(model, new CharTokenizer());
        var prompts = new IReadOnlyList<int>[] { new[] { 1, 7, 8, 9 }, new[] { 1, 20 } };
        IReadOnlyList<IReadOnlyList<int>> Run(bool useCache, IReadOnlyList<int>[] p) =>
            generator.GenerateIds(p, new GenerationOptions { MaxNewTokens = 10, StopTokenIds = Array.Empty<int>(), UseCache = useCache });

        IReadOnlyList<IReadOnlyList<int>> cached = Run(true, prompts);
        IReadOnlyList<IReadOnlyList<int>> plain = Run(false, prompts);

        Assert.Equal(10, cached[0].Count);
        Assert.Equal(plain, cached);
        Assert.Equal(Run(true, new[] { prompts[1] })[0], cached[1]);
        Assert.NotEqual(cached[0], cached[1]);
    }

    [Fact]
    public void Forward_BeyondNPositions_ThrowsArgumentException()
    {
        using Gpt2LMHeadModel model = HfCase.CreateGpt2();
        using Tensor ids = torch.ones(1, 33, dtype: ScalarType.Int64);

        Assert.Throws<ArgumentException>(() => model.forward(ids));
    }

    [Fact]
    public void StateDict_Keys_AreHuggingFaceGpt2LMHeadModelNames()
    {
        using Gpt2LMHeadModel model = HfCase.CreateGpt2();
        var keys = model.state_dict().Keys.ToHashSet();

        Assert.Equal(2 + (2 * 12) + 2, keys.Count);
        Assert.Contains("transformer.wte.weight", keys);
        Assert.Contains("transformer.wpe.weight", keys);
        Assert.Contains("transformer.h.1.attn.c_attn.bias", keys);
        Assert.Contains("transformer.h.1.mlp.c_fc.weight", keys);
        Assert.Contains("transformer.h.0.mlp.c_proj.weight", keys);
        Assert.Contains("transformer.ln_f.bias", keys);
        Assert.Equal(new long[] { 96, 32 }, model.state_dict()["transformer.h.0.attn.c_attn.weight"].shape); // Linear layout [out, in]
    }

    [Fact]
    public void Train_LoadedTinyGpt2_LossFalls()
    {
        using var folder = new TempDirectory("ft-hf-");
        using (Gpt2LMHeadModel seed = HfCase.CreateGpt2()) HfCheckpoint.Save(seed, folder.Path);
        using Gpt2LMHeadModel model = HfCheckpoint.Load<Gpt2LMHeadModel>(folder.Path);
        var tokenizer = new CharTokenizer();
        var data = new[] { "the cat sat.", "a dog ran.", "the cat ran." }
            .Select(s => TokenSequence.ForLanguageModeling(tokenizer.Encode(s, addBos: true).Select(i => (long)i).ToArray()))
            .ToList();

        using var run = FineTuner.For(model).WithOptions(o =>
        {
            o.MaxSteps = 12;
            o.BatchSize = 3;
            o.LearningRate = 1e-2;
            o.Schedule = new FineTuning.Training.ConstantSchedule();
        }).Train(data);

        Assert.Equal(12, run.History.Count);
        Assert.True(run.History[^1].Loss < run.History[0].Loss * 0.8, $"loss {run.History[0].Loss} -> {run.History[^1].Loss}");
    }

    /// <summary>GPT-2 written from the HF tensors directly: Conv1D is <c>x @ W + b</c> with W [in, out]; explicit softmax attention.</summary>
    private static Tensor Reference(Dictionary<string, Tensor> w, Tensor ids, int layers, int heads)
    {
        Tensor LayerNorm(Tensor x, string name) =>
            nn.functional.layer_norm(x, new long[] { x.shape[^1] }, w[name + ".weight"], w[name + ".bias"], 1e-5);
        Tensor Conv1D(Tensor x, string name) => x.matmul(w[name + ".weight"]) + w[name + ".bias"];
        Tensor GeluNew(Tensor x) => 0.5 * x * (1 + ((x + (0.044715 * x.pow(3))) * Math.Sqrt(2 / Math.PI)).tanh());

        long batch = ids.shape[0], seq = ids.shape[1];
        Tensor positions = torch.arange(seq);
        Tensor h = w["transformer.wte.weight"].index_select(0, ids.flatten()).view(batch, seq, -1) + w["transformer.wpe.weight"].index_select(0, positions);
        long width = h.shape[^1], hd = width / heads;
        Tensor causal = torch.ones(seq, seq).tril().eq(0);
        for (int i = 0; i < layers; i++)
        {
            string p = $"transformer.h.{i}";
            Tensor qkv = Conv1D(LayerNorm(h, p + ".ln_1"), p + ".attn.c_attn");
            Tensor q = qkv.narrow(2, 0, width).view(batch, seq, heads, hd).transpose(1, 2);
            Tensor k = qkv.narrow(2, width, width).view(batch, seq, heads, hd).transpose(1, 2);
            Tensor v = qkv.narrow(2, 2 * width, width).view(batch, seq, heads, hd).transpose(1, 2);
            Tensor scores = q.matmul(k.transpose(-1, -2)) / Math.Sqrt(hd);
            Tensor attended = scores.masked_fill(causal, double.NegativeInfinity).softmax(-1).matmul(v).transpose(1, 2).reshape(batch, seq, width);
            h = h + Conv1D(attended, p + ".attn.c_proj");
            h = h + Conv1D(GeluNew(Conv1D(LayerNorm(h, p + ".ln_2"), p + ".mlp.c_fc")), p + ".mlp.c_proj");
        }

        return LayerNorm(h, "transformer.ln_f").matmul(w["transformer.wte.weight"].t());
    }
}

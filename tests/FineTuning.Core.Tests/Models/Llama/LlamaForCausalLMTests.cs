using System;
using System.Collections.Generic;
using System.Linq;
using FineTuning.Models;
using FineTuning.Models.Llama;
using FineTuning.Testing;
using FineTuning.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Core.Tests.Models.Llama;

public sealed class LlamaForCausalLMTests
{
    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public void StateDict_Keys_AreHuggingFaceNames(bool tied, bool bias)
    {
        using LlamaForCausalLM model = new(TinyLlama.Config(tied: tied, bias: bias));

        var expected = new List<string> { "model.embed_tokens.weight" };
        for (int i = 0; i < 2; i++)
        {
            expected.Add($"model.layers.{i}.input_layernorm.weight");
            foreach (string p in new[] { "q", "k", "v", "o" })
            {
                expected.Add($"model.layers.{i}.self_attn.{p}_proj.weight");
                if (bias) expected.Add($"model.layers.{i}.self_attn.{p}_proj.bias");
            }

            expected.Add($"model.layers.{i}.post_attention_layernorm.weight");
            expected.AddRange(new[] { "gate", "up", "down" }.Select(p => $"model.layers.{i}.mlp.{p}_proj.weight"));
        }

        expected.Add("model.norm.weight");
        if (!tied) expected.Add("lm_head.weight");
        Assert.Equal(expected.Order(StringComparer.Ordinal), model.state_dict().Keys.Order(StringComparer.Ordinal));
        Assert.Equal(new long[] { 16, 32 }, model.state_dict()["model.layers.0.self_attn.k_proj.weight"].shape);
    }

    [Fact]
    public void RotaryEmbedding_Position3_MatchesHandComputedRotation()
    {
        // head_dim 4, theta 10000: frequencies 1 and 1/100; HF pairs dimension i with i + 2.
        using var positions = torch.tensor(new long[] { 3 }, new long[] { 1, 1 });
        (Tensor cos, Tensor sin) = RotaryEmbedding.Tables(positions, headDim: 4, theta: 10000, ScalarType.Float32);
        using var q = torch.tensor(new float[] { 1, 2, 3, 4 }, new long[] { 1, 1, 1, 4 });
        using Tensor rotated = RotaryEmbedding.Apply(q, cos, sin);
        cos.Dispose();
        sin.Dispose();

        double a0 = 3.0, a1 = 3.0 / 100;
        double[] expected =
        {
            (1 * Math.Cos(a0)) - (3 * Math.Sin(a0)),
            (2 * Math.Cos(a1)) - (4 * Math.Sin(a1)),
            (3 * Math.Cos(a0)) + (1 * Math.Sin(a0)),
            (4 * Math.Cos(a1)) + (2 * Math.Sin(a1)),
        };
        float[] actual = rotated.data<float>().ToArray();
        for (int i = 0; i < 4; i++) Assert.Equal(expected[i], actual[i], 1e-5);
    }

    [Fact]
    public void Forward_LeftPaddedBatch_MatchesUnpaddedLogitsAtRealPositions()
    {
        using LlamaForCausalLM model = TinyLlama.Create(TinyLlama.Config(), dtype: ScalarType.Float64);
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        long[] shortIds = { 1, 7, 8 };
        long[] longIds = { 1, 9, 10, 11, 12 };
        Tensor batch = torch.tensor(new long[] { 2, 2, 1, 7, 8, 1, 9, 10, 11, 12 }, new long[] { 2, 5 });
        Tensor mask = torch.tensor(new long[] { 0, 0, 1, 1, 1, 1, 1, 1, 1, 1 }, new long[] { 2, 5 });

        Tensor padded = model.Forward(batch, mask);
        Tensor alone0 = model.forward(torch.tensor(shortIds, new long[] { 1, 3 }));
        Tensor alone1 = model.forward(torch.tensor(longIds, new long[] { 1, 5 }));

        Assert.True(padded.isfinite().all().item<bool>());
        Assert.True(padded[0].narrow(0, 2, 3).allclose(alone0[0], rtol: 1e-9, atol: Tolerance.Fp64Same()));
        Assert.True(padded[1].allclose(alone1[0], rtol: 1e-9, atol: Tolerance.Fp64Same()));
    }

    [Fact]
    public void Forward_ChunkAfterCachedPrefix_MatchesFullSequence()
    {
        // A multi-token chunk after cached positions needs the causal mask shifted by the cache length.
        using LlamaForCausalLM model = TinyLlama.Create(TinyLlama.Config(), dtype: ScalarType.Float64);
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        Tensor ids = torch.tensor(new long[] { 1, 4, 9, 16, 25, 36, 49 }, new long[] { 1, 7 });
        Tensor full = model.forward(ids);

        using var cache = model.CreateCache();
        Tensor first = model.Forward(ids.narrow(1, 0, 3), cache: cache);
        Tensor rest = model.Forward(ids.narrow(1, 3, 4), cache: cache);

        Assert.Equal(7, cache.Length);
        Assert.True(torch.cat(new[] { first, rest }, 1).allclose(full, rtol: 1e-9, atol: Tolerance.Fp64Same()));
    }

    [Fact]
    public void To_BFloat16_ForwardRunsInBFloat16CloseToFloat32()
    {
        using LlamaForCausalLM model = TinyLlama.Create(TinyLlama.Config(tied: true));
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        Tensor ids = torch.tensor(new long[] { 1, 5, 6, 7, 8 }, new long[] { 1, 5 });
        Tensor reference = model.forward(ids);

        model.to(ScalarType.BFloat16);
        Tensor logits = model.forward(ids);

        Assert.Equal(ScalarType.BFloat16, logits.dtype);
        Assert.All(model.parameters(), p => Assert.Equal(ScalarType.BFloat16, p.dtype));
        double error = (logits.to_type(ScalarType.Float32) - reference).abs().max().item<float>();
        double scale = reference.abs().max().item<float>();
        Assert.True(error < 0.05 * scale, $"max error {error}, max logit {scale}");
    }

    [Fact]
    public void Config_WithSeveralProblems_ThrowsListingAll()
    {
        var config = TinyLlama.Config() with { HiddenSize = 34, NumKeyValueHeads = 3, VocabSize = 0, RmsNormEps = -1 };

        ModelConfigException e = Assert.Throws<ModelConfigException>(() => new LlamaForCausalLM(config));

        Assert.Equal(4, e.Problems.Count);
        Assert.Contains("vocab_size", e.Message, StringComparison.Ordinal);
        Assert.Contains("num_key_value_heads", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Config_FromHfJson_ReadsFieldNames()
    {
        const string json = """
            {"architectures": ["LlamaForCausalLM"], "hidden_size": 64, "intermediate_size": 172, "num_hidden_layers": 5,
             "num_attention_heads": 8, "num_key_value_heads": 4, "vocab_size": 512, "rms_norm_eps": 1e-05,
             "rope_theta": 10000.0, "max_position_embeddings": 512, "tie_word_embeddings": true, "attention_bias": false}
            """;

        LlamaConfig config = LlamaConfig.FromJson(json);

        Assert.Equal(64, config.HiddenSize);
        Assert.Equal(4, config.EffectiveKeyValueHeads);
        Assert.Equal(8, config.EffectiveHeadDim);
        Assert.True(config.TieWordEmbeddings);
        Assert.Equal(1e-5, config.RmsNormEps);
    }

    [Fact]
    public void Config_FromJsonWithUnsupportedRopeScalingOrOtherActivation_ThrowsRatherThanIgnoring()
    {
        const string json = """
            {"hidden_size": 64, "intermediate_size": 172, "num_hidden_layers": 5, "num_attention_heads": 8,
             "vocab_size": 512, "hidden_act": "gelu", "rope_scaling": {"rope_type": "yarn", "factor": 8.0}}
            """;

        ModelConfigException e = Assert.Throws<ModelConfigException>(() => LlamaConfig.FromJson(json));

        Assert.Equal(2, e.Problems.Count);
    }

    [Fact]
    public void IFineTunable_DefaultObjective_IsCausalLMAndModuleIsModel()
    {
        using LlamaForCausalLM model = new(TinyLlama.Config());
        IFineTunable<TokenSequence> fineTunable = model;

        Assert.Same(model, fineTunable.Module);
        Assert.IsType<CausalLMObjective>(fineTunable.DefaultObjective);
    }
}

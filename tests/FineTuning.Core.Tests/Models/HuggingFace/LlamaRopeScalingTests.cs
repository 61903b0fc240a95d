using System;
using System.Linq;
using FineTuning.Core.Tests.Models.Llama;
using FineTuning.Models.Llama;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Core.Tests.Models.HuggingFace;

public sealed class LlamaRopeScalingTests
{
    [Theory]
    // Llama 3.1: head_dim 128, rope_theta 500000, factor 8, low 1, high 4, original 8192. Expected values computed
    // with the published formula (HF _compute_llama3_parameters) in double precision, outside this code base.
    [InlineData(0, 1.0)]                      // wavelength 6.28 < 2048: kept
    [InlineData(20, 0.016560440080994446)]    // wavelength 379 < 2048: kept
    [InlineData(28, 0.0032114459947525913)]   // wavelength 1956 < 2048: kept
    [InlineData(29, 0.002166570763503359)]    // wavelength 2402: smoothed
    [InlineData(30, 0.0013718935677611381)]   // wavelength 2948: smoothed
    [InlineData(34, 0.00017850781276799638)]  // wavelength 6695: smoothed
    [InlineData(40, 3.428102195952591e-05)]   // wavelength 22911 > 8192: divided by 8
    [InlineData(63, 3.068925988914511e-07)]   // wavelength 2.6e6: divided by 8
    public void InverseFrequencies_Llama31_MatchPublishedFormula(int index, double expected)
    {
        var scaling = new LlamaRopeScaling { RopeType = "llama3", Factor = 8, LowFreqFactor = 1, HighFreqFactor = 4, OriginalMaxPositionEmbeddings = 8192 };

        float[] inv = RotaryEmbedding.InverseFrequencies(128, 500000, scaling);

        Assert.Equal(64, inv.Length);
        Assert.Equal(expected, inv[index], expected * 1e-6);
    }

    [Fact]
    public void FromJson_Llama3RopeScaling_ParsedAndChangesLogits()
    {
        const string json = """
            {"hidden_size": 32, "intermediate_size": 48, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
             "vocab_size": 67, "rope_scaling": {"type": "llama3", "factor": 4.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
             "original_max_position_embeddings": 64}}
            """;

        LlamaConfig config = LlamaConfig.FromJson(json);

        Assert.Equal(LlamaRopeScaling.Llama3, config.RopeScaling!.EffectiveType);
        Assert.Equal(4.0, config.RopeScaling.Factor);
        using LlamaForCausalLM scaled = TinyLlama.Create(config with { RmsNormEps = 1e-5 });
        using LlamaForCausalLM plain = TinyLlama.Create(config with { RmsNormEps = 1e-5, RopeScaling = null });
        using var noGrad = torch.no_grad();
        using Tensor ids = torch.tensor(Enumerable.Range(3, 20).Select(i => (long)i).ToArray(), new long[] { 1, 20 });
        using Tensor a = scaled.forward(ids);
        using Tensor b = plain.forward(ids);
        Assert.False(a.allclose(b, rtol: 0, atol: 1e-4));
        // Position 0 has angle 0 for every frequency: scaling cannot change it.
        using Tensor a0 = a.narrow(1, 0, 1);
        using Tensor b0 = b.narrow(1, 0, 1);
        Assert.True(a0.allclose(b0, rtol: 0, atol: 1e-6));
    }
}

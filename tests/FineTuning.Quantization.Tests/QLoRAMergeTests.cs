using System;
using System.Linq;
using FineTuning.Lora;
using FineTuning.Models.Llama;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Quantization.Tests;

/// <summary>merge_and_unload over a quantized base (QLoRA): opt-in, dense Linear layers, same outputs as before.</summary>
public sealed class QLoRAMergeTests
{
    private static LlamaForCausalLM QuantizedWithAdapter(bool dora)
    {
        var model = new LlamaForCausalLM(new LlamaConfig
        {
            HiddenSize = 64, IntermediateSize = 128, NumHiddenLayers = 2, NumAttentionHeads = 4, NumKeyValueHeads = 2,
            VocabSize = 48, MaxPositionEmbeddings = 64, TieWordEmbeddings = true,
        });
        using var g = new Generator(11);
        model.InitializeWeights(g, std: 0.3);
        new QuantizationAdapter(new QuantizationOptions { Type = QuantizationType.NF4, DoubleQuantization = true }).Apply(model);
        new LoRAAdapter(new LoRAOptions { R = 4, Alpha = 8, UseDoRA = dora }).Apply(model);
        using var noGrad = no_grad();
        foreach ((_, LoRALinear layer) in LoRA.Layers(model)) layer.B("default").normal_(0, 0.2, g);
        model.eval();
        return model;
    }

    private static Tensor Logits(LlamaForCausalLM model) => TinyLlamas.Logits(model);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void MergeAndUnload_QuantizedBaseWithOptIn_DenseLinearsWithSameOutputs(bool dora)
    {
        using LlamaForCausalLM model = QuantizedWithAdapter(dora);
        using Tensor before = Logits(model);
        (string name, LoRALinear first) = LoRA.Layers(model)[0];
        using Tensor dequantized = ((FineTuning.Adapters.IFrozenLinear)first.BaseLayer).DenseWeight(ScalarType.Float32);
        using Tensor delta = first.Delta("default");
        using Tensor expectedWeight = dequantized.add(delta);

        LoRA.MergeAndUnload(model, new MergeOptions { DequantizeQuantizedBase = true });

        Assert.Empty(LoRA.Layers(model));
        Assert.DoesNotContain(model.named_modules(), m => m.module is QuantizedLinear);
        var dense = Assert.IsType<Linear>(model.named_modules().Single(m => m.name == name).module);
        Assert.Equal(ScalarType.Float32, dense.weight!.dtype);
        if (!dora) Assert.True(dense.weight.equal(expectedWeight).all().item<bool>(), "the dense weight is dequantize(W) + update, computed in fp32");
        using var noGrad = no_grad();
        using Tensor after = Logits(model);
        // Both sides use the same dequantized fp32 weight; only the association of the fp32 sums differs
        // (x(W + sBA)^T vs xW^T + s(xA^T)B^T), a few ulps per product through 2 layers: 1e-4 of the logit scale.
        double scale = before.abs().max().item<float>();
        double diff = (after - before).abs().max().item<float>();
        Assert.True(diff <= 1e-4 * scale, $"max difference {diff:E2} for logits up to {scale:F2}");
    }

    // Largest half-gap between neighbouring NF4 values: (-0.6961928 - -1) / 2 (as in FormatTests).
    private const double NF4HalfGap = 0.15190360;

    [Fact]
    public void MergeAndUnload_QuantizedBase_MergedWeightWithinNF4BoundOfFullPrecisionMerge()
    {
        using var model = new LlamaForCausalLM(new LlamaConfig
        {
            HiddenSize = 64, IntermediateSize = 128, NumHiddenLayers = 1, NumAttentionHeads = 4, NumKeyValueHeads = 2,
            VocabSize = 48, MaxPositionEmbeddings = 64, TieWordEmbeddings = true,
        });
        using var g = new Generator(12);
        model.InitializeWeights(g, std: 0.3);
        const string Name = "model.layers.0.self_attn.q_proj";
        using Tensor original = ((Linear)model.named_modules().Single(m => m.name == Name).module).weight!.detach().clone();
        new QuantizationAdapter(new QuantizationOptions { Type = QuantizationType.NF4 }).Apply(model);
        new LoRAAdapter(new LoRAOptions { R = 4, Alpha = 8 }).Apply(model);
        LoRALinear layer = LoRA.Layers(model).Single(l => l.Name == Name).Layer;
        using (no_grad()) layer.B("default").normal_(0, 0.2, g);
        using Tensor delta = layer.Delta("default");

        LoRA.MergeAndUnload(model, new MergeOptions { DequantizeQuantizedBase = true });

        // merged = dequantize(quantize(W)) + delta: it differs from the full-precision merge W + delta by the base's NF4
        // error only, at most half the largest codebook gap times each 64-value block's absmax (rows of 64 here), plus
        // one fp32 rounding of the sum.
        var merged = (Linear)model.named_modules().Single(m => m.name == Name).module;
        using var scope = NewDisposeScope();
        Tensor error = merged.weight!.sub(original.add(delta)).abs().view(-1, 64);
        Tensor bound = original.abs().view(-1, 64).amax(new long[] { 1 }, keepdim: true).mul(NF4HalfGap * (1 + 1e-5))
            .add(original.add(delta).abs().view(-1, 64).mul(2 * 1.2e-7)).add(1e-7);
        Assert.True(error.le(bound).all().item<bool>(), $"worst error / bound {error.div(bound).max().item<float>():F3}");
        Assert.True(error.max().item<float>() > 0, "the quantization error must be visible (the test would not notice a full-precision merge)");
    }

    [Fact]
    public void MergeAndUnload_QuantizedBaseWithoutOptIn_ThrowsNamingTheOption_ModelUnchanged()
    {
        using LlamaForCausalLM model = QuantizedWithAdapter(dora: false);

        var e = Assert.Throws<InvalidOperationException>(() => LoRA.MergeAndUnload(model));

        Assert.Contains(nameof(MergeOptions.DequantizeQuantizedBase), e.Message, StringComparison.Ordinal);
        Assert.Equal(14, LoRA.Layers(model).Count);
        Assert.All(LoRA.Layers(model), l => Assert.IsType<QuantizedLinear>(l.Layer.BaseLayer));
    }

    [Fact]
    public void Unload_QuantizedBase_PutsTheQuantizedLayersBack()
    {
        using LlamaForCausalLM model = QuantizedWithAdapter(dora: false);

        LoRA.Unload(model);

        Assert.Empty(LoRA.Layers(model));
        Assert.Equal(14, model.named_modules().Count(m => m.module is QuantizedLinear));
    }
}

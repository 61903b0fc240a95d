using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using FineTuning.Adapters;
using FineTuning.Lora;
using FineTuning.Models.HuggingFace;
using FineTuning.Models.Llama;
using FineTuning.Testing;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Quantization.Tests;

/// <summary>
/// A quantized model on its way out: <see cref="QuantizedLayers.Dequantize"/> (transformers' <c>model.dequantize()</c>),
/// merge-and-unload over a base quantized beyond the adapter's targets, and the Hugging Face export's refusal of layers
/// whose weights are not parameters (it used to write a folder without them).
/// </summary>
public sealed class QuantizedExportTests : IDisposable
{
    private readonly TempDirectory folder = new("ft-qexport-");

    public void Dispose() => folder.Dispose();

    /// <summary>A small untied LLaMA with every projection and the head quantized (NF4, double quantization).</summary>
    private static LlamaForCausalLM Quantized()
    {
        LlamaForCausalLM model = TinyLlamas.Create(tied: false, seed: 5);
        new QuantizationAdapter(new QuantizationOptions
        {
            DoubleQuantization = true,
            Targets = QuantizationTargets.Names(TinyLlamas.Projections.Append("lm_head").ToArray()),
        }).Apply(model);
        return model;
    }

    private static Tensor Logits(LlamaForCausalLM model) => TinyLlamas.Logits(model);

    /// <summary>Both sides multiply by the same fp32 dequantized weights; only the association of the sums may differ.</summary>
    private static void AssertSameLogits(Tensor expected, Tensor actual)
    {
        double scale = expected.abs().max().item<float>();
        double diff = expected.sub(actual).abs().max().item<float>();
        Assert.True(diff <= 1e-5 * scale, $"logits differ by {diff:G3} (scale {scale:G3})");
    }

    [Fact]
    public void Dequantize_QuantizedModel_DenseLinearsWithTheDequantizedWeightsAndSameOutputs()
    {
        using LlamaForCausalLM model = Quantized();
        using Tensor before = Logits(model);
        var q = (QuantizedLinear)model.named_modules().Single(m => m.name == "model.layers.1.mlp.down_proj").module;
        using Tensor expectedWeight = q.DenseWeight(ScalarType.Float32);

        IReadOnlyList<string> replaced = QuantizedLayers.Dequantize(model);

        Assert.Equal(2 * 7 + 1, replaced.Count);
        Assert.Contains("lm_head", replaced);
        Assert.Empty(QuantizedLayers.Names(model));
        var dense = Assert.IsType<Linear>(model.named_modules().Single(m => m.name == "model.layers.1.mlp.down_proj").module);
        Assert.True(dense.weight!.equal(expectedWeight).all().item<bool>(), "the dense weight is the dequantized one, bit for bit");
        Assert.False(dense.weight.requires_grad);
        using Tensor after = Logits(model);
        AssertSameLogits(before, after);
    }

    [Fact]
    public void Dequantize_ToBFloat16_WeightsInThatDtype()
    {
        using LlamaForCausalLM model = Quantized();
        QuantizedLayers.Dequantize(model, ScalarType.BFloat16);
        var head = Assert.IsType<Linear>(model.named_modules().Single(m => m.name == "lm_head").module);
        Assert.Equal(ScalarType.BFloat16, head.weight!.dtype);
    }

    [Fact]
    public void Dequantize_NonFloatingDtype_Refused()
    {
        using LlamaForCausalLM model = Quantized();
        Assert.Throws<ArgumentException>(() => QuantizedLayers.Dequantize(model, ScalarType.Int32));
        Assert.Equal(15, QuantizedLayers.Names(model).Count);
    }

    [Fact]
    public void Dequantize_BaseWrappedByAdapter_RefusedAndNothingChanged()
    {
        using LlamaForCausalLM model = Quantized();
        new LoRAAdapter(new LoRAOptions { R = 2, Alpha = 4, Targets = LoRATargets.Names("q_proj") }).Apply(model);

        var e = Assert.Throws<InvalidOperationException>(() => QuantizedLayers.Dequantize(model));

        Assert.Contains("model.layers.0.self_attn.q_proj.base_layer", e.Message, StringComparison.Ordinal);
        Assert.Contains("MergeAndUnload", e.Message, StringComparison.Ordinal);
        Assert.Equal(15, QuantizedLayers.Names(model).Count);
    }

    [Fact]
    public void MergeAndUnload_AdapterOnSomeQuantizedLayers_EveryQuantizedLayerDequantizedAndOutputsKept()
    {
        using LlamaForCausalLM model = Quantized();
        new LoRAAdapter(new LoRAOptions { R = 4, Alpha = 8, Targets = LoRATargets.Names("q_proj", "v_proj") }).Apply(model);
        using var g = new Generator(3);
        using (no_grad())
        {
            foreach ((_, LoRALinear layer) in LoRA.Layers(model)) layer.B("default").normal_(0, 0.2, g);
        }

        using Tensor before = Logits(model);

        LoRA.MergeAndUnload(model, new MergeOptions { DequantizeQuantizedBase = true });

        Assert.Empty(LoRA.Layers(model));
        Assert.Empty(QuantizedLayers.Names(model));
        Assert.IsType<Linear>(model.named_modules().Single(m => m.name == "model.layers.0.self_attn.k_proj").module);
        using Tensor after = Logits(model);
        AssertSameLogits(before, after);

        // The model is the plain architecture again: it saves as a Hugging Face folder and loads back the same.
        string path = folder.File("merged");
        HfCheckpoint.Save(model, path);
        using var reloaded = HfCheckpoint.Load<LlamaForCausalLM>(path);
        reloaded.eval();
        using Tensor again = Logits(reloaded);
        Assert.True(after.equal(again).all().item<bool>(), "the saved folder holds every weight");
    }

    [Fact]
    public void MergeAndUnload_WithoutOptIn_QuantizedLayersOutsideTheAdapterStayQuantized()
    {
        using LlamaForCausalLM model = Quantized();
        QuantizedLayers.Dequantize(model);
        new QuantizationAdapter(new QuantizationOptions { Targets = QuantizationTargets.Names("lm_head") }).Apply(model);
        new LoRAAdapter(new LoRAOptions { R = 2, Alpha = 4, Targets = LoRATargets.Names("q_proj") }).Apply(model);

        LoRA.MergeAndUnload(model);

        Assert.Equal(new[] { "lm_head" }, QuantizedLayers.Names(model));
    }

    [Fact]
    public void MergeAndUnload_QuantizedLayerWrappedByAnotherAdapter_RefusedAndNothingMerged()
    {
        using LlamaForCausalLM model = Quantized();
        new FineTuning.Lora.IA3.IA3Adapter(new FineTuning.Lora.IA3.IA3Options
        {
            Targets = ModuleTargets.Names("up_proj", "down_proj"), FeedforwardModules = ModuleTargets.Names("down_proj"),
        }).Apply(model);
        new LoRAAdapter(new LoRAOptions { R = 2, Alpha = 4, Targets = LoRATargets.Names("q_proj") }).Apply(model);

        var e = Assert.Throws<InvalidOperationException>(() => LoRA.MergeAndUnload(model, new MergeOptions { DequantizeQuantizedBase = true }));

        Assert.Contains("\"model.layers.0.mlp.up_proj.base_layer\"", e.Message, StringComparison.Ordinal);
        Assert.Contains("Nothing was merged", e.Message, StringComparison.Ordinal);
        Assert.Equal(2, LoRA.Layers(model).Count);
        Assert.Equal(15, QuantizedLayers.Names(model).Count);
    }

    [Fact]
    public void HfCheckpointSave_QuantizedLayers_RefusedNamingThemAndNothingWritten()
    {
        using LlamaForCausalLM model = Quantized();
        string path = folder.File("quantized");

        var e = Assert.Throws<ArgumentException>(() => HfCheckpoint.Save(model, path));

        Assert.Contains("15 layer(s) are stored quantized", e.Message, StringComparison.Ordinal);
        Assert.Contains("\"model.layers.0.self_attn.q_proj\"", e.Message, StringComparison.Ordinal);
        Assert.Contains("QuantizedLayers.Dequantize", e.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(path));
    }
}

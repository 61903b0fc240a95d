using System;
using System.Linq;
using FineTuning.Lora;
using FineTuning.Models;
using FineTuning.Models.Llama;
using FineTuning.Testing;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Quantization.Tests;

/// <summary>
/// A quantized output head (lm_head named in the quantization targets, as llama.cpp's files quantize output.weight):
/// the chunked loss reads it a block of rows at a time instead of dequantizing the whole [vocab, hidden] head.
/// </summary>
public sealed class QuantizedHeadTests
{
    [Fact]
    public void QuantizedHead_ChunkedLoss_EqualsFullLogitsThroughTheLayer_WithTheSameAdapterGradients()
    {
        using LlamaForCausalLM model = QuantizedHeadModel();
        var head = ((ICausalLMHiddenStates)model).OutputHead();
        Assert.NotNull(head);
        Assert.IsType<QuantizedLinear>(head.Frozen);
        var batch = new[]
        {
            TokenSequence.ForLanguageModeling(new long[] { 1, 2, 3, 4, 5, 6, 7, 8 }),
            TokenSequence.ForLanguageModeling(new long[] { 9, 10, 11, 12, 13 }),
        };

        var chunkedObjective = new CausalLMObjective { LossChunkSize = 3 };
        var fullObjective = new CausalLMObjective { LossChunkSize = 0 };
        double chunkedLoss, fullLoss;
        using (no_grad())
        {
            chunkedLoss = chunkedObjective.SummedLoss(model, batch, CPU).item<double>();
            fullLoss = fullObjective.SummedLoss(model, batch, CPU).item<double>();
        }

        // Same products in fp64, summed in another order: equal to fp64 rounding.
        Assert.Equal(fullLoss, chunkedLoss, Tolerance.Fp64Same(Math.Abs(fullLoss)));
        GradientParity.AssertSame(
            GradientParity.Gradients(model, m => fullObjective.SummedLoss(m, batch, CPU), checkpoint: false, null),
            GradientParity.Gradients(model, m => chunkedObjective.SummedLoss(m, batch, CPU), checkpoint: false, null));
    }

    [Fact]
    public void QuantizedHead_DenseWeightRows_AreTheRowsOfTheDequantizedWeight()
    {
        using LlamaForCausalLM model = QuantizedHeadModel();
        var head = (QuantizedLinear)model.named_modules().Single(m => m.name == "lm_head").module;
        using Tensor whole = head.DenseWeight(ScalarType.Float32);
        using (Tensor rows = head.DenseWeightRows(5, 7, ScalarType.Float32))
        using (Tensor expected = whole.narrow(0, 5, 7))
        {
            Assert.Equal(expected.data<float>().ToArray(), rows.data<float>().ToArray());
        }

        Assert.Throws<ArgumentOutOfRangeException>(() => head.DenseWeightRows(44, 5, ScalarType.Float32));
        Assert.Throws<ArgumentOutOfRangeException>(() => head.DenseWeightRows(0, 0, ScalarType.Float32));
        Assert.Throws<QuantizationException>(() => head.DenseWeightRows(0, 1, ScalarType.Int32));
    }

    private static LlamaForCausalLM QuantizedHeadModel()
    {
        var model = new LlamaForCausalLM(new LlamaConfig
        {
            HiddenSize = 64, IntermediateSize = 128, NumHiddenLayers = 2, NumAttentionHeads = 4, NumKeyValueHeads = 2,
            VocabSize = 48, MaxPositionEmbeddings = 64, TieWordEmbeddings = false,
        });
        using (var g = new Generator(11)) model.InitializeWeights(g, std: 0.3);
        var targets = QuantizationTargets.Names("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj", "lm_head");
        new QuantizationAdapter(new QuantizationOptions { Type = QuantizationType.NF4, Targets = targets }).Apply(model);
        Assert.IsType<QuantizedLinear>(model.named_modules().Single(m => m.name == "lm_head").module);
        new LoRAAdapter(new LoRAOptions { R = 4, Alpha = 8, Seed = 3 }).Apply(model); // all linear layers but the head
        using (no_grad())
        {
            using var g = new Generator(4);
            foreach (var p in model.named_parameters().Where(p => p.name.Contains("lora_B", StringComparison.Ordinal))) p.parameter.normal_(0, 0.1, g);
        }

        model.to(ScalarType.Float64); // the quantized layers then compute in fp64
        model.train();
        return model;
    }
}

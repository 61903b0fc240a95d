using System.Linq;
using FineTuning.Lora;
using FineTuning.Models;
using FineTuning.Models.Llama;
using FineTuning.Testing;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Quantization.Tests;

public sealed class GradientCheckpointingQLoRATests
{
    [Fact]
    public void QLoRA_Checkpointed_AdapterGradientsEqualPlain()
    {
        // The frozen NF4 layers are themselves custom autograd nodes (chunked dequantize-matmul): the recompute runs them
        // again inside the checkpoint's backward.
        using var model = new LlamaForCausalLM(new LlamaConfig
        {
            HiddenSize = 64, IntermediateSize = 128, NumHiddenLayers = 2, NumAttentionHeads = 4, NumKeyValueHeads = 2,
            VocabSize = 48, MaxPositionEmbeddings = 64, TieWordEmbeddings = true,
        });
        using (var g = new Generator(11)) model.InitializeWeights(g, std: 0.3);
        new QuantizationAdapter(new QuantizationOptions { Type = QuantizationType.NF4, DoubleQuantization = true }).Apply(model);
        new LoRAAdapter(new LoRAOptions { R = 4, Alpha = 8, Seed = 3 }).Apply(model);
        using (no_grad())
        {
            using var g = new Generator(4);
            foreach (var p in model.named_parameters().Where(p => p.name.Contains("lora_B", System.StringComparison.Ordinal))) p.parameter.normal_(0, 0.1, g);
        }
        model.to(ScalarType.Float64); // after the adapters, as the trainer does: the quantized layers compute in fp64 then
        model.train();
        Assert.All(LoRA.Layers(model), l => Assert.IsType<QuantizedLinear>(l.Layer.BaseLayer));
        var batch = new[]
        {
            TokenSequence.ForLanguageModeling(new long[] { 1, 2, 3, 4, 5, 6, 7, 8 }),
            TokenSequence.ForLanguageModeling(new long[] { 9, 10, 11, 12, 13 }),
        };
        var objective = new CausalLMObjective();
        GradientParity.AssertCheckpointingChangesNothing(model, m => objective.SummedLoss(m, batch, CPU));
    }
}

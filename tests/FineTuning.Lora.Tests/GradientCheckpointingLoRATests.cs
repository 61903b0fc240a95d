using System.Linq;
using FineTuning.Models;
using FineTuning.Models.Llama;
using FineTuning.Testing;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Lora.Tests;

/// <summary>LoRA dropout draws from the global generator: the two compared runs must see the same masks, so no test runs alongside.</summary>
[CollectionDefinition(nameof(GlobalGeneratorCollection), DisableParallelization = true)]
public sealed class GlobalGeneratorCollection
{
}

[Collection(nameof(GlobalGeneratorCollection))]
public sealed class GradientCheckpointingLoRATests
{
    [Theory]
    [InlineData(0.0)]
    [InlineData(0.3)]
    public void LoRA_Checkpointed_AdapterGradientsEqualPlain(double dropout)
    {
        using LlamaForCausalLM model = Adapted(dropout);
        var objective = new CausalLMObjective();
        var batch = LlamaLoRATrainingTests.Counting(3, seed: 5);
        Assert.Equal(28, model.parameters().Count(p => p.requires_grad)); // A and B of 7 projections in 2 layers, nothing else
        GradientParity.AssertCheckpointingChangesNothing(model, m => objective.SummedLoss(m, batch, CPU));
    }

    /// <summary>The fused SwiGLU function (default) under LoRA, checkpointed or not, against ordinary ops.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void LoRA_FusedKernels_AdapterGradientsEqualComposition(bool checkpoint)
    {
        using LlamaForCausalLM model = Adapted(dropout: 0);
        var objective = new CausalLMObjective();
        var batch = LlamaLoRATrainingTests.Counting(3, seed: 5);
        var fused = GradientParity.Gradients(model, m => objective.SummedLoss(m, batch, CPU), checkpoint, null);
        model.FusedKernels = false;
        var composed = GradientParity.Gradients(model, m => objective.SummedLoss(m, batch, CPU), checkpoint: false, null);
        Assert.Equal(28, fused.Count);
        GradientParity.AssertSame(composed, fused);
    }

    /// <summary>The tiny LLaMA with LoRA r=4 on every projection, B drawn non-zero, in float64, in training mode.</summary>
    private static LlamaForCausalLM Adapted(double dropout)
    {
        LlamaForCausalLM model = LlamaLoRATrainingTests.TinyLlama();
        new LoRAAdapter(new LoRAOptions { R = 4, Alpha = 8, Dropout = dropout, Seed = 3 }).Apply(model);
        using (no_grad())
        {
            // B starts at zero, which would hide A's gradient: give B values so that every adapter weight gets one.
            using var g = new Generator(4);
            foreach (var p in model.named_parameters().Where(p => p.name.Contains("lora_B", System.StringComparison.Ordinal))) p.parameter.normal_(0, 0.1, g);
        }
        model.to(ScalarType.Float64); // after the adapter, as the trainer does
        model.train();
        return model;
    }
}

using System;
using System.Collections.Generic;
using FineTuning.Core.Tests.Training;
using FineTuning.Generation;
using FineTuning.Models;
using FineTuning.Models.Llama;
using FineTuning.Testing;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Core.Tests.Models.Llama;

/// <summary>
/// The fused SwiGLU autograd function in the LLaMA layers (Models/Fused) against the
/// composition of ordinary ops, through the whole model in float64: the same loss and the same gradient for every
/// parameter (full fine-tuning: norms, projections, embeddings), with and without gradient checkpointing.
/// </summary>
[Collection(nameof(GlobalGeneratorCollection))]
public sealed class FusedKernelsTests
{
    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public void Llama_FusedKernels_GradientsEqualComposition(bool checkpoint, bool tied)
    {
        using LlamaForCausalLM model = TinyLlama.Create(TinyLlama.Config(tied: tied), dtype: ScalarType.Float64);
        model.train();
        var objective = new CausalLMObjective();
        Assert.True(model.FusedKernels); // the default
        Dictionary<string, double[]> fused = GradientParity.Gradients(model, m => objective.SummedLoss(m, GradientCheckpointingTests.Batch, CPU), checkpoint, null);
        model.FusedKernels = false;
        Dictionary<string, double[]> composed = GradientParity.Gradients(model, m => objective.SummedLoss(m, GradientCheckpointingTests.Batch, CPU), checkpoint: false, null);
        GradientParity.AssertSame(composed, fused);
    }

    [Fact]
    public void Llama_FusedKernels_LogitsEqualCompositionWithCache()
    {
        using LlamaForCausalLM model = TinyLlama.Create(TinyLlama.Config(), dtype: ScalarType.Float64);
        using var scope = NewDisposeScope();
        Tensor ids = tensor(new long[] { 1, 5, 6, 7, 8, 9 }).unsqueeze(0);
        using KVCache cache = model.CreateCache();
        Tensor prefix = model.Forward(ids.narrow(1, 0, 4), cache: cache);
        Tensor next = model.Forward(ids.narrow(1, 4, 2), cache: cache);
        model.FusedKernels = false;
        Tensor full = model.Forward(ids);
        double difference = Math.Max(
            (full.narrow(1, 0, 4) - prefix).abs().max().item<double>(),
            (full.narrow(1, 4, 2) - next).abs().max().item<double>());
        Assert.True(difference <= Tolerance.Fp64Same(full.abs().max().item<double>()), $"difference {difference}");
    }
}

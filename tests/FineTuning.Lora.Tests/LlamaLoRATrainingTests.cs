using System;
using System.Collections.Generic;
using System.Linq;
using FineTuning.Models;
using FineTuning.Models.Llama;
using FineTuning.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Lora.Tests;

/// <summary>LoRA through the builder on a tiny LLaMA: the adapters learn, the base does not move.</summary>
public sealed class LlamaLoRATrainingTests
{
    internal static LlamaForCausalLM TinyLlama()
    {
        var config = new LlamaConfig
        {
            HiddenSize = 32, IntermediateSize = 64, NumHiddenLayers = 2, NumAttentionHeads = 4, NumKeyValueHeads = 2,
            VocabSize = 48, MaxPositionEmbeddings = 64, TieWordEmbeddings = true,
        };
        var model = new LlamaForCausalLM(config);
        using var g = new Generator(11);
        model.InitializeWeights(g, std: 0.3); // large enough that the frozen tied head can express confident predictions
        return model;
    }

    /// <summary>Sequences that count upwards modulo the vocabulary: easy to learn, impossible for a random model.</summary>
    internal static List<TokenSequence> Counting(int count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ =>
        {
            int start = random.Next(48);
            return TokenSequence.ForLanguageModeling(Enumerable.Range(0, 12).Select(i => (long)((start + i) % 48)).ToArray());
        }).ToList();
    }

    [Fact]
    public void WithLoRA_OnTinyLlama_LossFalls_BaseWeightsUnchanged()
    {
        using LlamaForCausalLM model = TinyLlama();
        Dictionary<string, Tensor> baseWeights = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());

        using TrainingRun run = FineTuner.For(model)
            .WithLoRA(r: 8, alpha: 16)
            .WithOptions(o => { o.Epochs = 10; o.BatchSize = 8; o.LearningRate = 1e-2; o.Schedule = new ConstantSchedule(); })
            .WithValidation(Counting(16, seed: 2))
            .Train(Counting(64, seed: 1));

        // All linear layers except lm_head (tied here): q, k, v, o, gate, up, down in each of 2 layers.
        Assert.Equal(14, LoRA.Layers(model).Count);
        Assert.DoesNotContain(LoRA.Layers(model), l => l.Name.Contains("lm_head", StringComparison.Ordinal));
        Assert.True(run.Evaluations[^1].Loss < 0.5 * run.Evaluations[0].Loss, $"validation loss {run.Evaluations[0].Loss:F3} -> {run.Evaluations[^1].Loss:F3}");
        foreach ((string name, TorchSharp.Modules.Parameter p) in model.named_parameters().Where(p => !p.name.Contains(".lora_", StringComparison.Ordinal)))
        {
            string original = name.Replace(".base_layer", "", StringComparison.Ordinal);
            Assert.True(p.equal(baseWeights[original]).all().item<bool>(), $"{name} must not change");
        }
        // The trained adapter is not the identity, and disabling it gives the base model's loss back.
        double adapted = FineTuner.For(model).Evaluate(Counting(16, seed: 2)).Loss;
        using (LoRA.DisableAdapters(model))
            Assert.Equal(run.Evaluations[0].Loss, FineTuner.For(model).Evaluate(Counting(16, seed: 2)).Loss, tolerance: 1e-4);
        Assert.Equal(run.Evaluations[^1].Loss, adapted, tolerance: 1e-4);
    }
}

using System;
using System.IO;
using System.Linq;
using FineTuning.Lora;
using FineTuning.Lora.Peft;
using FineTuning.Models;
using FineTuning.Models.Llama;
using FineTuning.Quantization;
using FineTuning.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Quantization.Tests;

/// <summary>QLoRA = quantized frozen base + LoRA adapters, composed through Core's IFrozenLinear.</summary>
public sealed class QLoRATests
{
    private static LlamaForCausalLM TinyLlama()
    {
        var model = new LlamaForCausalLM(new LlamaConfig
        {
            HiddenSize = 64, IntermediateSize = 128, NumHiddenLayers = 2, NumAttentionHeads = 4, NumKeyValueHeads = 2,
            VocabSize = 48, MaxPositionEmbeddings = 64, TieWordEmbeddings = true,
        });
        using var g = new Generator(11);
        model.InitializeWeights(g, std: 0.3);
        return model;
    }

    private static TokenSequence[] Counting(int count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ =>
        {
            int start = random.Next(48);
            return TokenSequence.ForLanguageModeling(Enumerable.Range(0, 12).Select(i => (long)((start + i) % 48)).ToArray());
        }).ToArray();
    }

    [Fact]
    public void QuantizationThenLoRA_WrapsQuantizedLayers_LearnsAndRoundTripsTheAdapter()
    {
        using LlamaForCausalLM model = TinyLlama();
        using TrainingRun run = FineTuner.For(model)
            .WithQuantization(QuantizationType.NF4)
            .WithLoRA(r: 8, alpha: 16)
            .WithOptions(o => { o.Epochs = 10; o.BatchSize = 8; o.LearningRate = 1e-2; o.Schedule = new ConstantSchedule(); })
            .WithValidation(Counting(16, seed: 2))
            .Train(Counting(64, seed: 1));

        var layers = LoRA.Layers(model);
        Assert.Equal(14, layers.Count);
        Assert.All(layers, l => Assert.IsType<QuantizedLinear>(l.Layer.BaseLayer));
        Assert.True(run.Evaluations[^1].Loss < 0.6 * run.Evaluations[0].Loss, $"validation loss {run.Evaluations[0].Loss:F3} -> {run.Evaluations[^1].Loss:F3}");
        Assert.Throws<InvalidOperationException>(() => LoRA.Merge(model));

        // The adapter file is ordinary PEFT LoRA; loaded onto a freshly quantized copy it reproduces the outputs.
        string dir = Directory.CreateTempSubdirectory("qlora").FullName;
        try
        {
            PeftAdapter.Save(model, dir);
            using LlamaForCausalLM fresh = TinyLlama();
            new QuantizationAdapter(new QuantizationOptions { Type = QuantizationType.NF4 }).Apply(fresh);
            PeftAdapter.Load(fresh, dir);
            using var scope = NewDisposeScope();
            Tensor ids = tensor(new long[] { 3, 4, 5, 6, 7 }).unsqueeze(0);
            model.eval();
            fresh.eval();
            Assert.True(fresh.call(ids).allclose(model.call(ids), rtol: 0, atol: 0));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}

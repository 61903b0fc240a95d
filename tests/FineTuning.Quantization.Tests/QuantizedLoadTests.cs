using System;
using System.IO;
using System.Linq;
using FineTuning.Adapters;
using FineTuning.Lora;
using FineTuning.Models;
using FineTuning.Models.Gpt2;
using FineTuning.Models.HuggingFace;
using FineTuning.Models.Llama;
using FineTuning.Testing;
using FineTuning.Training;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Quantization.Tests;

/// <summary>
/// <c>HfCheckpoint.Load(folder, dtype, quantization)</c>: a checkpoint read straight into quantized layers, layer by
/// layer, is the model that loading it dense and quantizing it gives, bit for bit.
/// </summary>
public sealed class QuantizedLoadTests : IDisposable
{
    private readonly TempDirectory folder = new("ft-qload-");

    public void Dispose() => folder.Dispose();

    /// <summary>A small LLaMA saved as a Hugging Face folder; returns the folder.</summary>
    private string Saved(bool tied, string name = "hf")
    {
        using LlamaForCausalLM model = TinyLlamas.Create(tied, seed: 21);
        string path = folder.File(name);
        HfCheckpoint.Save(model, path);
        return path;
    }

    private static Tensor Logits(LlamaForCausalLM model) => TinyLlamas.Logits(model);

    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    public void Load_WithQuantization_SameModelAsDenseThenQuantized(bool tied, bool everything)
    {
        string path = Saved(tied);
        QuantizationOptions Options() => new()
        {
            DoubleQuantization = true,
            Targets = everything ? QuantizationTargets.Names(TinyLlamas.Everything) : QuantizationTargets.AllLinear,
        };

        using LlamaForCausalLM expected = HfCheckpoint.Load<LlamaForCausalLM>(path);
        new QuantizationAdapter(Options()).Apply(expected);
        using LlamaForCausalLM actual = HfCheckpoint.Load<LlamaForCausalLM>(path, ScalarType.Float32, Options());

        Assert.Equal(QuantizedLayers.Names(expected), QuantizedLayers.Names(actual));
        Assert.Equal(everything ? 16 : 14, QuantizedLayers.Names(actual).Count);
        Assert.Equal(expected.state_dict().Keys.Order(), actual.state_dict().Keys.Order());
        Assert.DoesNotContain(actual.parameters(), p => p.device_type != DeviceType.CPU);
        Assert.All(actual.parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));
        foreach ((string key, Tensor t) in expected.state_dict())
            Assert.True(t.equal(actual.state_dict()[key]).all().item<bool>(), key);
        using Tensor a = Logits(expected);
        using Tensor b = Logits(actual);
        Assert.True(a.equal(b).all().item<bool>(), "the same logits, bit for bit");
        Assert.False(actual.training);
    }

    [Fact]
    public void Load_WithQuantization_ThenLoRA_Trains()
    {
        string path = Saved(tied: false);
        using LlamaForCausalLM model = HfCheckpoint.Load<LlamaForCausalLM>(path, ScalarType.Float32, new QuantizationOptions());
        var random = new Random(3);
        TokenSequence[] data = Enumerable.Range(0, 32).Select(_ =>
        {
            int start = random.Next(48);
            return TokenSequence.ForLanguageModeling(Enumerable.Range(0, 12).Select(i => (long)((start + i) % 48)).ToArray());
        }).ToArray();

        using TrainingRun run = FineTuner.For(model).WithLoRA(r: 4, alpha: 8)
            .WithOptions(o => { o.Epochs = 6; o.BatchSize = 8; o.LearningRate = 1e-2; o.Schedule = new ConstantSchedule(); })
            .WithValidation(data.Take(8).ToArray())
            .Train(data);

        Assert.All(LoRA.Layers(model), l => Assert.IsType<QuantizedLinear>(l.Layer.BaseLayer));
        Assert.True(run.Evaluations[^1].Loss < 0.8 * run.Evaluations[0].Loss, $"validation loss {run.Evaluations[0].Loss:F3} -> {run.Evaluations[^1].Loss:F3}");
    }

    [Fact]
    public void Load_WithQuantizationThatDoesNotFit_RefusedBeforeReading()
    {
        string path = Saved(tied: true);
        var e = Assert.Throws<InvalidConfigurationException>(() =>
            HfCheckpoint.Load<LlamaForCausalLM>(path, ScalarType.Float32, new QuantizationOptions { Targets = QuantizationTargets.Names("embed_tokens") }));
        Assert.Contains("tied to the output head", e.Message, StringComparison.Ordinal);

        var block = Assert.Throws<InvalidConfigurationException>(() =>
            HfCheckpoint.Load<LlamaForCausalLM>(path, ScalarType.Float32, new QuantizationOptions { BlockSize = 256 }));
        Assert.Contains("not a multiple of the quantization block size 256", block.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_Gpt2WithQuantization_NotSupportedYet()
    {
        using var gpt2 = new Gpt2LMHeadModel(new Gpt2Config { NEmbd = 64, NHead = 4, NLayer = 1, VocabSize = 50, NPositions = 32 });
        string path = folder.File("gpt2");
        HfCheckpoint.Save(gpt2, path);
        var e = Assert.Throws<NotSupportedException>(() => HfCheckpoint.Load(path, ScalarType.Float32, new QuantizationOptions()));
        Assert.Contains("not supported yet", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_WithQuantization_MissingTensor_RefusedAsADenseLoadIs()
    {
        string path = Saved(tied: false);
        // Drop one projection from the file: the strict check runs before any layer is read.
        string weights = Path.Combine(path, "model.safetensors");
        using (var model = HfCheckpoint.Load<LlamaForCausalLM>(path))
        {
            var tensors = model.state_dict().Where(kv => kv.Key != "model.layers.1.mlp.up_proj.weight").ToDictionary(kv => kv.Key, kv => kv.Value);
            FineTuning.Models.SafeTensors.SafeTensorsWriter.Write(weights, tensors, new System.Collections.Generic.Dictionary<string, string> { ["format"] = "pt" });
        }

        Exception? dense = Record.Exception(() => HfCheckpoint.Load(path));
        Exception? quantized = Record.Exception(() => HfCheckpoint.Load(path, ScalarType.Float32, new QuantizationOptions()));
        Assert.NotNull(dense);
        Assert.IsType<CheckpointWeightsException>(quantized);
        Assert.Equal(dense.GetType(), quantized!.GetType());
        Assert.Equal(dense.Message, quantized.Message);
    }
}

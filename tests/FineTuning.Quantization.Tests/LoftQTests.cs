using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using FineTuning.Adapters;
using FineTuning.Lora;
using FineTuning.Lora.Peft;
using FineTuning.Testing;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Quantization.Tests;

/// <summary>init_lora_weights "loftq": the adapter absorbs the NF4 quantization error of each layer.</summary>
public sealed class LoftQTests
{
    private static readonly QuantizationOptions Nf4 = new() { Type = QuantizationType.NF4 };

    private static Dictionary<string, Tensor> DenseWeights(TinyNet model) => model.named_modules()
        .Where(m => m.module is Linear && !m.name.StartsWith("classifier", StringComparison.Ordinal))
        .ToDictionary(m => m.name, m => ((Linear)m.module).weight!.detach().clone());

    /// <summary>||W - (Q + s B A)||_F^2 per layer, in fp64.</summary>
    private static Dictionary<string, double> SquaredErrors(TinyNet model, Dictionary<string, Tensor> original) => LoRA.Layers(model).ToDictionary(
        l => l.Name,
        l =>
        {
            using Tensor q = ((IFrozenLinear)l.Layer.BaseLayer).DenseWeight(ScalarType.Float64);
            using Tensor delta = l.Layer.Delta("default").to(ScalarType.Float64);
            return original[l.Name].to(ScalarType.Float64).sub(q).sub(delta).square().sum().item<double>();
        });

    [Fact]
    public void LoftQ_OneIteration_RemovesTheTopSingularValuesOfTheQuantizationError()
    {
        using var scope = NewDisposeScope();
        using var plain = new TinyNet();
        Dictionary<string, Tensor> original = DenseWeights(plain);
        new LoRAAdapter(new LoRAOptions { R = 4, Alpha = 8 }, Nf4).Apply(plain);            // plain QLoRA init: B = 0
        using var loftq = new TinyNet();
        new LoRAAdapter(new LoRAOptions { R = 4, Alpha = 8, InitLoraWeights = LoRAInit.LoftQ(1) }, Nf4).Apply(loftq);

        Dictionary<string, double> before = SquaredErrors(plain, original), after = SquaredErrors(loftq, original);
        Assert.Equal(new[] { "model.down_proj", "model.up_proj" }, after.Keys.Order(StringComparer.Ordinal).ToArray());
        foreach ((string name, LoRALinear layer) in LoRA.Layers(loftq))
        {
            // Both bases are quantize(W). Eckart-Young: the rank-4 fit leaves ||W - Q||^2 minus the top four squared singular
            // values of W - Q, which are the largest eigenvalues of (W - Q)(W - Q)^T (computed here without an SVD).
            using Tensor q = ((IFrozenLinear)layer.BaseLayer).DenseWeight(ScalarType.Float64);
            Tensor error = original[name].to(ScalarType.Float64).sub(q);
            Tensor eig = linalg.eigvalsh(error.matmul(error.t())).flip(0);
            double top = eig.narrow(0, 0, 4).sum().item<double>();
            Assert.Equal(before[name], error.square().sum().item<double>(), 6);
            // fp32 SVD and products: relative error ~1e-6 of ||W - Q||^2.
            Assert.InRange(after[name], before[name] - top - (1e-4 * before[name]), before[name] - top + (1e-4 * before[name]));
            Assert.True(after[name] < before[name]);
        }
    }

    [Fact]
    public void LoftQ_SeveralIterations_RequantizesTheBaseAndStaysBelowPlainQLoRA()
    {
        using var scope = NewDisposeScope();
        using var plain = new TinyNet();
        Dictionary<string, Tensor> original = DenseWeights(plain);
        new LoRAAdapter(new LoRAOptions { R = 4, Alpha = 8 }, Nf4).Apply(plain);
        using var loftq = new TinyNet();
        new LoRAAdapter(new LoRAOptions { R = 4, Alpha = 8, InitLoraWeights = LoRAInit.LoftQ(3) }, Nf4).Apply(loftq);

        Dictionary<string, double> before = SquaredErrors(plain, original), after = SquaredErrors(loftq, original);
        foreach ((string name, LoRALinear layer) in LoRA.Layers(loftq))
        {
            Assert.True(after[name] < before[name], $"{name}: {after[name]} >= {before[name]}");
            // The base is no longer quantize(W): the last step quantized W - s B A of the previous fit.
            using Tensor q = ((IFrozenLinear)layer.BaseLayer).DenseWeight(ScalarType.Float32);
            using Tensor plainQ = ((IFrozenLinear)LoRA.Layers(plain).Single(l => l.Name == name).Layer.BaseLayer).DenseWeight(ScalarType.Float32);
            Assert.False(q.equal(plainQ).all().item<bool>());
        }
    }

    [Fact]
    public void SaveLoad_LoftQ_WritesPeftFieldsAndReloadsOntoTheQuantizedBase()
    {
        using var scope = NewDisposeScope();
        using var model = new TinyNet();
        new LoRAAdapter(new LoRAOptions { R = 4, Alpha = 8, InitLoraWeights = LoRAInit.LoftQ(1) }, Nf4).Apply(model);
        model.eval();
        Tensor x = linspace(-1, 1, 128).reshape(2, 64);
        Tensor expected = model.call(x);
        using var temp = new TempDirectory("loftq");
        string dir = temp.Path;
        PeftAdapter.Save(model, dir);
        JsonNode config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, PeftAdapterConfig.FileName)))!;
        Assert.Equal("loftq", config["init_lora_weights"]!.GetValue<string>());
        Assert.Equal("{\"loftq_bits\":4,\"loftq_iter\":1}", config["loftq_config"]!.ToJsonString());
        // With one iteration the base is quantize(W): a fresh base quantized the same way takes the adapter.
        using var fresh = new TinyNet();
        new QuantizationAdapter(QuantizationOptions.FromConfigFile(Path.Combine(dir, QuantizationConfigFile.FileName))).Apply(fresh);
        PeftAdapter.Load(fresh, dir);
        fresh.eval();
        Assert.True(fresh.call(x).allclose(expected, rtol: 0, atol: 0));
    }
}

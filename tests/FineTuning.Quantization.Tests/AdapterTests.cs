using System;
using System.Collections.Generic;
using System.Linq;
using FineTuning.Quantization;
using FineTuning.Training;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Quantization.Tests;

/// <summary>Replacing a model's linear layers, alone and through the builder.</summary>
public sealed class AdapterTests
{
    private static Tensor Input(int seed)
    {
        using var g = new Generator((ulong)seed);
        return randn(new long[] { 4, 64 }, generator: g);
    }

    [Fact]
    public void Apply_AllLinear_QuantizesEveryLinearExceptTheHead()
    {
        using var scope = NewDisposeScope();
        using var model = new TinyNet();
        Tensor before = model.call(Input(1)).detach();
        var adapter = new QuantizationAdapter(new QuantizationOptions { DoubleQuantization = true });
        adapter.Apply(model);
        var quantized = model.named_modules().Where(m => m.module is QuantizedLinear).Select(m => m.name).ToList();
        Assert.Equal(new[] { "model.up_proj", "model.down_proj" }, quantized);
        Assert.IsType<Linear>(model.named_modules().Single(m => m.name == "classifier").module);
        Assert.Equal(quantized, adapter.Reports.Select(r => r.Layer));
        Assert.All(adapter.Reports, r => Assert.InRange(r.BitsPerParameter, 4.1, 4.2));
        Tensor after = model.call(Input(1)).detach();
        // The forward now runs through the quantized layers (the C# fields were swapped): close, not equal.
        Assert.False(after.eq(before).all().item<bool>());
        double relative = after.sub(before).norm().item<float>() / before.norm().item<float>();
        Assert.InRange(relative, 1e-4, 0.1);
        Assert.True(model.state_dict().ContainsKey("model.up_proj.bias"), string.Join(", ", model.state_dict().Keys));
    }

    [Fact]
    public void Apply_Names_QuantizesOnlyThoseLayers()
    {
        using var model = new TinyNet();
        new QuantizationAdapter(new QuantizationOptions { Targets = QuantizationTargets.Names("up_proj"), Type = QuantizationType.Int8 }).Apply(model);
        Assert.Equal(new[] { "model.up_proj" }, model.named_modules().Where(m => m.module is QuantizedLinear).Select(m => m.name));
    }

    [Fact]
    public void Validate_ReportsEveryProblemAtOnce()
    {
        using var model = new TinyNet();
        var adapter = new QuantizationAdapter(new QuantizationOptions { BlockSize = 4096 });
        List<string> problems = adapter.Validate(model).ToList();
        Assert.Equal(2, problems.Count); // up_proj (64 in) and down_proj (128 in) do not divide by 4096
        Assert.All(problems, p => Assert.Contains("not a multiple of the quantization block size 4096", p, StringComparison.Ordinal));
        using var sealedNet = new SealedFieldNet();
        string problem = Assert.Single(new QuantizationAdapter(new QuantizationOptions()).Validate(sealedNet));
        Assert.Contains("Module<Tensor, Tensor>", problem, StringComparison.Ordinal);
        Assert.Throws<InvalidConfigurationException>(() => adapter.Apply(model));
        Assert.DoesNotContain(model.named_modules(), m => m.module is QuantizedLinear);
    }

    [Fact]
    public void WithQuantization_BadBlockSize_ThrowsAtOnce()
    {
        using var model = new TinyNet();
        var builder = FineTuner.For<int>(model, (m, batch, device) => zeros(1));
        Assert.Throws<ArgumentOutOfRangeException>(() => builder.WithQuantization(configure: o => o.BlockSize = 100));
    }

    [Fact]
    public void WithQuantization_TrainsTheHeadOverQuantizedLayers_InBFloat16()
    {
        using var model = new TinyNet();
        Tensor target = tensor(new long[] { 0, 1, 2, 1 });
        using TrainingRun run = FineTuner.For<int>(model, (m, batch, device) =>
            {
                var net = (TinyNet)m;
                using Tensor x = cat(batch.Select(Input).ToArray()).view(-1, 64).to(ScalarType.BFloat16);
                using Tensor logits = net.call(x).to(ScalarType.Float32);
                using Tensor labels = target.repeat(batch.Count);
                return nn.functional.cross_entropy(logits, labels, reduction: nn.Reduction.Sum);
            }, batch => batch.Count * 4L)
            .WithQuantization(QuantizationType.NF4, configure: o => o.DoubleQuantization = true)
            .WithOptions(o => { o.ParameterDType = ScalarType.BFloat16; o.LearningRate = 1e-2; o.Epochs = 3; o.BatchSize = 2; o.Shuffle = false; })
            .Train(new[] { 1, 1, 1, 1 });
        Assert.All(model.modules().OfType<QuantizedLinear>(), q => Assert.Equal(ScalarType.BFloat16, q.ComputeDType));
        Assert.Equal(2, model.modules().OfType<QuantizedLinear>().Count());
        Assert.True(run.History[^1].Loss < run.History[0].Loss, $"loss {run.History[0].Loss} -> {run.History[^1].Loss}");
    }
}

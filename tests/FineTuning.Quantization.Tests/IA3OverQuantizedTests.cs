using System;
using System.IO;
using System.Linq;
using FineTuning.Adapters;
using FineTuning.Lora.IA3;
using FineTuning.Lora.Peft;
using FineTuning.Testing;
using FineTuning.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Quantization.Tests;

/// <summary>IA3 composes with a quantized base through Core's IFrozenLinear, as LoRA does in QLoRA.</summary>
public sealed class IA3OverQuantizedTests : IDisposable
{
    private readonly TempDirectory _dir = new("ia3-quantized");

    public void Dispose() => _dir.Dispose();

    private static Tensor Input(int seed)
    {
        using var g = new Generator((ulong)seed);
        return randn(new long[] { 4, 64 }, generator: g);
    }

    private static IA3Options Options() => new() { Targets = ModuleTargets.Names("up_proj", "down_proj"), FeedforwardModules = ModuleTargets.Names("down_proj") };

    private static TinyNet QuantizedNet()
    {
        var model = new TinyNet();
        new QuantizationAdapter(new QuantizationOptions()).Apply(model);
        return model;
    }

    [Fact]
    public void WithQuantizationThenIA3_StartsAtTheQuantizedOutput_Trains_AndReloadsOntoAQuantizedBase()
    {
        using var scope = NewDisposeScope();
        using var model = new TinyNet();
        using var reference = QuantizedNet();
        reference.eval();
        var data = Enumerable.Range(0, 16).ToArray();
        var adapter = new IA3Adapter(Options());
        using TrainingRun run = FineTuner
            .For<int>(model, (m, batch, device) =>
            {
                Tensor x = stack(batch.Select(Input).ToArray()).reshape(-1, 64);
                return ((nn.Module<Tensor, Tensor>)m).call(x).sub(x.narrow(1, 0, 3).sin()).square().sum();
            }, batch => batch.Count * 4L * 3)
            .WithQuantization(new QuantizationOptions())
            .WithAdapter(adapter)
            .WithOptions(o => { o.Epochs = 10; o.BatchSize = 4; o.LearningRate = 0.1; o.Shuffle = false; })
            .Train(data);

        Assert.All(IA3Adapter.Layers(model), l => Assert.IsType<QuantizedLinear>(l.Layer.BaseLayer));
        Assert.Equal(new long[] { 1, 128 }, IA3Adapter.Layers(model).Single(l => l.Name == "model.down_proj").Layer.Vector.shape);
        Assert.Equal(new[] { "model.down_proj.ia3_l.default", "model.up_proj.ia3_l.default" },
            model.named_parameters().Where(p => p.parameter.requires_grad).Select(p => p.name).Order(StringComparer.Ordinal));
        Assert.True(run.History.TakeLast(2).Average(h => h.Loss) < 0.8 * run.History[0].Loss, $"loss {run.History[0].Loss:F4} -> {run.History[^1].Loss:F4}");

        // The first step's loss is the quantized base's: IA3's vectors of ones leave its outputs unchanged.
        using (var identity = QuantizedNet())
        {
            new IA3Adapter(Options()).Apply(identity);
            identity.eval();
            Assert.True(identity.call(Input(5)).equal(reference.call(Input(5))).all().item<bool>());
        }

        AdapterFiles.Save(model, _dir.Path, adapter);
        model.eval();
        using TinyNet fresh = QuantizedNet();
        PeftAdapter.Load(fresh, _dir.Path);
        fresh.eval();
        Assert.True(fresh.call(Input(7)).equal(model.call(Input(7))).all().item<bool>());
        Assert.Contains("not supported yet", Assert.Throws<NotSupportedException>(() => IA3Adapter.Merge(fresh)).Message, StringComparison.Ordinal);
        Assert.DoesNotContain(IA3Adapter.Layers(fresh), l => l.Layer.IsMerged);
    }
}

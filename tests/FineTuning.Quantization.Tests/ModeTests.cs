using System;
using System.IO;
using System.Linq;
using FineTuning.Quantization;
using FineTuning.Testing;
using TorchSharp;
using Xunit;

namespace FineTuning.Quantization.Tests;

/// <summary>Layers swapped in by quantization take the mode of the layer they replace (no module comes back in training mode).</summary>
public sealed class ModeTests : IDisposable
{
    private readonly TempDirectory _dir = new("ft-quant-mode");

    public void Dispose() => _dir.Dispose();

    private static void AssertAll(torch.nn.Module model, bool training) =>
        Assert.All(model.named_modules().Prepend(("(root)", model)), m => Assert.True(m.Item2.training == training, $"{m.Item1} is in the other mode"));

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Apply_QuantizedLayersTakeTheModelsMode(bool training)
    {
        using var model = new TinyNet(seed: 1);
        model.train(training);
        new QuantizationAdapter(new QuantizationOptions()).Apply(model);
        Assert.Contains(model.named_modules(), m => m.module is QuantizedLinear);
        AssertAll(model, training);
    }

    [Fact]
    public void QuantizedSafeTensorsLoad_IntoModelInEvalMode_LeavesEveryModuleInEvalMode()
    {
        string path = Path.Combine(_dir.Path, "model.safetensors");
        using (var saved = new TinyNet(seed: 1))
        {
            new QuantizationAdapter(new QuantizationOptions()).Apply(saved);
            saved.train();
            QuantizedSafeTensors.Save(saved, path);
        }
        using var model = new TinyNet(seed: 2);
        model.eval();
        QuantizedSafeTensors.Load(model, path);
        Assert.Contains(model.named_modules(), m => m.module is QuantizedLinear);
        AssertAll(model, training: false);
    }
}

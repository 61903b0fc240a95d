using System;
using System.IO;
using System.Linq;
using FineTuning.Lora.Peft;
using FineTuning.Testing;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Lora.Tests;

public sealed class NamedAdaptersTests
{
    [Fact]
    public void TwoNamedAdapters_SwitchingChangesOutput_AndEachMatchesItsOwnSavedCopy()
    {
        using var scope = NewDisposeScope();
        Tensor x = linspace(-1, 1, 40).reshape(5, 8);
        using var model = new TinyBlock();
        model.eval();
        Tensor baseOut = model.call(x);
        new LoRAAdapter(new LoRAOptions { R = 4, AdapterName = "first", Seed = 1 }).Apply(model);
        new LoRAAdapter(new LoRAOptions { R = 2, AdapterName = "second", Seed = 2, Targets = LoRATargets.Names("v_proj") }).Apply(model);
        AdapterContractTests.Perturb(model, 3);
        model.eval();

        LoRA.SetActiveAdapter(model, "first");
        Tensor first = model.call(x);
        LoRA.SetActiveAdapter(model, "second");
        Tensor second = model.call(x);
        Assert.False(first.allclose(second));
        Assert.False(second.allclose(baseOut));

        using var temp = new TempDirectory("named");
        string dir = temp.Path;
        PeftAdapter.Save(model, dir, "first");
        using var fresh = new TinyBlock();
        PeftAdapter.Load(fresh, dir, "restored");
        fresh.eval();
        Assert.True(fresh.call(x).allclose(first, rtol: 0, atol: 0));
        Assert.Throws<ArgumentException>(() => LoRA.SetActiveAdapter(model, "third"));
    }

    [Fact]
    public void Apply_SecondAdapterWithAllLinear_WrapsTheSameLayersNotTheFirstAdaptersMatrices()
    {
        using var model = new TinyBlock();
        new LoRAAdapter(new LoRAOptions { AdapterName = "first" }).Apply(model);
        new LoRAAdapter(new LoRAOptions { AdapterName = "second", Targets = LoRATargets.AllLinear }).Apply(model);

        var layers = LoRA.Layers(model);
        Assert.Equal(new[] { "model.q_proj", "model.v_proj" }, layers.Select(l => l.Name).ToArray());
        Assert.All(layers, l => Assert.Equal(new[] { "first", "second" }, l.Layer.AdapterNames.Order(StringComparer.Ordinal).ToArray()));
        Assert.DoesNotContain(model.named_modules(), m => m.name.Contains("lora_A.first.", StringComparison.Ordinal));
    }
}

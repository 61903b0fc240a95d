using System;
using System.Linq;
using FineTuning.Testing;
using FineTuning.Training;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Lora.Tests;

public sealed class ContainerTargetsTests
{
    [Fact]
    public void Apply_LayersInSequential_AreWrappedAndRunInForward()
    {
        using var scope = NewDisposeScope();
        Sequential model = nn.Sequential(("0", nn.Linear(4, 6)), ("1", nn.Tanh()), ("2", nn.Linear(6, 3)));
        TinyModels.Initialise(model, 3);
        model.to(ScalarType.Float64);
        new LoRAAdapter(new LoRAOptions { R = 2, Alpha = 4 }).Apply(model);
        AdapterContractTests.Perturb(model, 5);

        Assert.Equal(new[] { "0", "2" }, LoRA.Layers(model).Select(l => l.Name).ToArray());
        Assert.Contains("0.lora_A.default.weight", model.state_dict().Keys);
        Tensor x = linspace(-1, 1, 20, dtype: ScalarType.Float64).reshape(5, 4);
        // Independent reference: the two layers' formulas written out, y = x W^T + b + (alpha / r) (x A^T) B^T.
        Tensor h = Reference(LoRA.Layers(model)[0].Layer, x, 2.0).tanh();
        Tensor expected = Reference(LoRA.Layers(model)[1].Layer, h, 2.0);
        Assert.True(model.call(x).allclose(expected, rtol: 0, atol: Tolerance.Fp64Same()));
    }

    [Fact]
    public void MergeAndUnload_InSequential_PutsPlainLinearsBackWithTheMergedWeights()
    {
        using var scope = NewDisposeScope();
        Sequential model = nn.Sequential(("0", nn.Linear(4, 6)), ("1", nn.Tanh()), ("2", nn.Linear(6, 3)));
        TinyModels.Initialise(model, 3);
        model.to(ScalarType.Float64);
        new LoRAAdapter(new LoRAOptions { R = 2, Alpha = 4 }).Apply(model);
        AdapterContractTests.Perturb(model, 5);
        Tensor x = linspace(-1, 1, 20, dtype: ScalarType.Float64).reshape(5, 4);
        Tensor expected = model.call(x);

        LoRA.MergeAndUnload(model);
        Assert.Empty(LoRA.Layers(model));
        Assert.Equal(2, model.named_children().Count(c => c.module is Linear));
        Assert.True(model.call(x).allclose(expected, rtol: 0, atol: Tolerance.Fp64Same()));
    }

    [Fact]
    public void Apply_LayersInModuleList_AreWrappedAndRunInForward()
    {
        using var scope = NewDisposeScope();
        using var model = new ListModel();
        model.to(ScalarType.Float64);
        new LoRAAdapter(new LoRAOptions { R = 2, Alpha = 2, Targets = LoRATargets.Names("1") }).Apply(model);
        AdapterContractTests.Perturb(model, 7);

        (string name, LoRALinear layer) = Assert.Single(LoRA.Layers(model));
        Assert.Equal("layers.1", name);
        Tensor x = linspace(-1, 1, 12, dtype: ScalarType.Float64).reshape(3, 4);
        var first = (Linear)model.named_modules().First(m => m.name == "layers.0").module;
        Tensor expected = Reference(layer, first.call(x), 1.0);
        Assert.True(model.call(x).allclose(expected, rtol: 0, atol: Tolerance.Fp64Same()));
    }

    [Fact]
    public void Validate_ModuleListOfSealedLinear_NamesTheListAndWhatToDeclare()
    {
        using var model = new SealedListModel();
        var ex = Assert.Throws<InvalidConfigurationException>(() => new LoRAAdapter(new LoRAOptions()).Apply(model));
        Assert.Contains("\"_list\"", ex.Message, StringComparison.Ordinal);
        Assert.Contains("ModuleList<Module<Tensor, Tensor>>", ex.Message, StringComparison.Ordinal);
        Assert.Empty(LoRA.Layers(model));
    }

    internal static Tensor Reference(LoRALinear layer, Tensor x, double scaling)
    {
        var linear = (Linear)layer.BaseLayer;
        Tensor lora = x.matmul(layer.A("default").t()).matmul(layer.B("default").t());
        return x.matmul(linear.weight!.t()).add(linear.bias!).add(lora.mul(scaling));
    }

    private sealed class ListModel : nn.Module<Tensor, Tensor>
    {
#pragma warning disable IDE1006, SA1300 // state-dict names
        private readonly ModuleList<nn.Module<Tensor, Tensor>> layers = new(nn.Linear(4, 4), nn.Linear(4, 2));
#pragma warning restore IDE1006, SA1300

        public ListModel()
            : base(nameof(ListModel))
        {
            RegisterComponents();
            TinyModels.Initialise(this, 11);
        }

        public override Tensor forward(Tensor input)
        {
            Tensor h = input;
            foreach (nn.Module<Tensor, Tensor> layer in layers) h = layer.call(h);
            return h;
        }
    }

    private sealed class SealedListModel : nn.Module<Tensor, Tensor>
    {
#pragma warning disable IDE1006, SA1300
        private readonly ModuleList<Linear> layers = new(nn.Linear(4, 4));
#pragma warning restore IDE1006, SA1300

        public SealedListModel()
            : base(nameof(SealedListModel)) => RegisterComponents();

        public override Tensor forward(Tensor input) => layers[0].call(input);
    }
}

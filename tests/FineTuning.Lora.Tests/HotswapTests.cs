using System;
using System.IO;
using System.Linq;
using FineTuning.Lora.Peft;
using FineTuning.Testing;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Lora.Tests;

/// <summary>PeftAdapter.Hotswap (PEFT's hotswap_adapter): new weights in the live modules equal a fresh load.</summary>
public sealed class HotswapTests : IDisposable
{
    private readonly TempDirectory _dir = new("hotswap");

    public void Dispose() => _dir.Dispose();

    private string SaveAdapter(string name, LoRAOptions options, ulong seed)
    {
        using var model = new TinyBlock();
        new LoRAAdapter(options).Apply(model);
        AdapterContractTests.Perturb(model, seed);
        string dir = Path.Combine(_dir.Path, name);
        PeftAdapter.Save(model, dir);
        return dir;
    }

    [Fact]
    public void Hotswap_SameShapesOtherAlpha_OutputsEqualAFreshLoad_ParametersStayTheSame()
    {
        using var scope = NewDisposeScope();
        string first = SaveAdapter("first", new LoRAOptions { R = 4, Alpha = 8, Seed = 1 }, 3);
        string second = SaveAdapter("second", new LoRAOptions { R = 4, Alpha = 16, Seed = 2 }, 4);
        Tensor x = linspace(-1, 1, 24).reshape(3, 8);

        using var live = new TinyBlock();
        PeftAdapter.Load(live, first);
        live.eval();
        Tensor before = live.call(x);
        IntPtr[] handles = LoRA.Layers(live).SelectMany(l => new[] { l.Layer.A("default").Handle, l.Layer.B("default").Handle }).ToArray();
        PeftAdapter.Hotswap(live, second);

        using var fresh = new TinyBlock();
        PeftAdapter.Load(fresh, second);
        fresh.eval();
        Tensor expected = fresh.call(x);
        Assert.False(before.allclose(expected));
        Assert.True(live.call(x).allclose(expected, rtol: 0, atol: 0));
        Assert.Equal(handles, LoRA.Layers(live).SelectMany(l => new[] { l.Layer.A("default").Handle, l.Layer.B("default").Handle }).ToArray());
        Assert.All(LoRA.Layers(live), l => Assert.Equal(4.0, l.Layer.Scaling("default")));
        Assert.Equal(16, LoRA.Layers(live)[0].Layer.OptionsOf("default")!.Alpha);
    }

    [Theory]
    [InlineData("rslora", "use_rslora")]
    [InlineData("rank", "lora_A.weight\" has shape [2, 8]")]
    [InlineData("layers", "missing [model.q_proj]")]
    public void Hotswap_IncompatibleAdapter_IsRefusedAndNothingChanges(string kind, string expected)
    {
        using var scope = NewDisposeScope();
        string first = SaveAdapter("first", new LoRAOptions { R = 4, Alpha = 8 }, 3);
        string other = SaveAdapter(kind, kind switch
        {
            "rslora" => new LoRAOptions { R = 4, Alpha = 8, UseRsLoRA = true },
            "rank" => new LoRAOptions { R = 2, Alpha = 8 },
            _ => new LoRAOptions { R = 4, Alpha = 8, Targets = LoRATargets.Names("v_proj") },
        }, 4);
        using var live = new TinyBlock();
        PeftAdapter.Load(live, first);
        live.eval();
        Tensor x = linspace(-1, 1, 24).reshape(3, 8);
        Tensor before = live.call(x);

        var ex = Assert.Throws<AdapterFormatException>(() => PeftAdapter.Hotswap(live, other));
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        Assert.True(live.call(x).allclose(before, rtol: 0, atol: 0));
        Assert.Throws<InvalidOperationException>(() => PeftAdapter.Hotswap(live, first, "absent"));
    }
}

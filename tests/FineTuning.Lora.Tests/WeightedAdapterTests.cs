using System;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using FineTuning.Lora.Peft;
using FineTuning.Testing;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Lora.Tests;

/// <summary>add_weighted_adapter and delete_adapter, checked against PEFT's formulas written out by hand (fp64).</summary>
public sealed class WeightedAdapterTests
{
    /// <summary>fp64 TinyBlock with adapter "x" (r 2, alpha 4: s 2) and "y" (r 2, alpha 2: s 1) on q_proj and v_proj, B perturbed.</summary>
    private static TinyBlock Model(int rankY = 2)
    {
        var model = new TinyBlock();
        model.to(ScalarType.Float64);
        new LoRAAdapter(new LoRAOptions { R = 2, Alpha = 4, AdapterName = "x", Seed = 1 }).Apply(model);
        new LoRAAdapter(new LoRAOptions { R = rankY, Alpha = rankY, AdapterName = "y", Seed = 2 }).Apply(model);
        AdapterContractTests.Perturb(model, 3);
        LoRA.SetActiveAdapter(model, "x");
        return model;
    }

    private static Tensor BA(LoRALinear layer, string adapter) => layer.B(adapter).matmul(layer.A(adapter));

    [Fact]
    public void Cat_GivesExactlyTheWeightedSumOfUpdates()
    {
        using var scope = NewDisposeScope();
        using TinyBlock model = Model(rankY: 3);
        LoRA.AddWeightedAdapter(model, new[] { "x", "y" }, new[] { 0.5, -1.5 }, "c", AdapterCombination.Cat);
        foreach ((_, LoRALinear layer) in LoRA.Layers(model))
        {
            Assert.Equal(new long[] { 5, 8 }, layer.A("c").shape);                 // rank 2 + 3
            Assert.Equal(1.0, layer.Scaling("c"));
            Tensor expected = BA(layer, "x").mul(0.5 * 2).add(BA(layer, "y").mul(-1.5 * 1));
            Assert.True(BA(layer, "c").allclose(expected, rtol: 0, atol: Tolerance.Fp64Same()));
            Assert.Equal("x", layer.ActiveAdapter);                                // PEFT leaves the active adapter alone
            Assert.False(layer.A("c").requires_grad);
        }
    }

    [Fact]
    public void Linear_CombinesAAndBSeparatelyWithSquareRootWeights()
    {
        using var scope = NewDisposeScope();
        using TinyBlock model = Model();
        LoRA.AddWeightedAdapter(model, new[] { "x", "y" }, new[] { 2.0, 3.0 }, "l", AdapterCombination.Linear);
        LoRALinear layer = LoRA.Layers(model)[0].Layer;
        // A = sqrt(w_x s_x) A_x + sqrt(w_y s_y) A_y = 2 A_x + sqrt(3) A_y, and the same for B.
        Tensor a = layer.A("x").mul(2.0).add(layer.A("y").mul(Math.Sqrt(3)));
        Tensor b = layer.B("x").mul(2.0).add(layer.B("y").mul(Math.Sqrt(3)));
        Assert.True(layer.A("l").allclose(a, rtol: 0, atol: Tolerance.Fp64Same()));
        Assert.True(layer.B("l").allclose(b, rtol: 0, atol: Tolerance.Fp64Same()));
    }

    [Fact]
    public void Svd_FullRankReproducesPeftsSum_LowRankIsTheBestApproximation()
    {
        using var scope = NewDisposeScope();
        using TinyBlock model = Model();
        LoRA.AddWeightedAdapter(model, new[] { "x", "y" }, new[] { 1.0, 1.0 }, "full", AdapterCombination.Svd, svdRank: 4);
        LoRA.AddWeightedAdapter(model, new[] { "x", "y" }, new[] { 1.0, 1.0 }, "one", AdapterCombination.Svd, svdRank: 1);
        foreach ((_, LoRALinear layer) in LoRA.Layers(model))
        {
            // PEFT: sum of (w s) * (s B A): 1 * 2 * (2 B_x A_x) + 1 * 1 * (1 B_y A_y), rank <= 4, so rank 4 keeps all of it.
            Tensor delta = BA(layer, "x").mul(4.0).add(BA(layer, "y"));
            Assert.True(BA(layer, "full").allclose(delta, rtol: 0, atol: Tolerance.Fp64Same(delta.abs().max().item<double>())));
            // Eckart-Young: the rank-1 result leaves exactly the trailing squared singular values (eigenvalues of delta delta^T).
            Tensor eig = linalg.eigvalsh(delta.matmul(delta.t())).flip(0);
            double tail = eig.narrow(0, 1, eig.shape[0] - 1).sum().item<double>();
            double error = delta.sub(BA(layer, "one")).square().sum().item<double>();
            Assert.Equal(tail, error, 9);
        }
    }

    [Fact]
    public void AddWeightedAdapter_BadRequests_AreRefusedWithoutChanges()
    {
        using TinyBlock model = Model(rankY: 3);
        Assert.Contains("one rank", Assert.Throws<ArgumentException>(() =>
            LoRA.AddWeightedAdapter(model, new[] { "x", "y" }, new[] { 1.0, 1.0 }, "l", AdapterCombination.Linear)).Message, StringComparison.Ordinal);
        Assert.Contains("negative", Assert.Throws<ArgumentException>(() =>
            LoRA.AddWeightedAdapter(model, new[] { "x" }, new[] { -1.0 }, "l", AdapterCombination.Cat)).Message, StringComparison.Ordinal); // one adapter: linear
        Assert.Throws<ArgumentException>(() => LoRA.AddWeightedAdapter(model, new[] { "x", "nope" }, new[] { 1.0, 1.0 }, "c"));
        Assert.Throws<ArgumentException>(() => LoRA.AddWeightedAdapter(model, new[] { "x" }, new[] { 1.0, 2.0 }, "c"));
        Assert.Throws<ArgumentException>(() => LoRA.AddWeightedAdapter(model, new[] { "x" }, new[] { 1.0 }, "y"));
        Assert.All(LoRA.Layers(model), l => Assert.Equal(new[] { "x", "y" }, l.Layer.AdapterNames.Order(StringComparer.Ordinal).ToArray()));
    }

    [Fact]
    public void AddWeightedAdapter_SavesAsPeftWithAlphaEqualToR_AndReloadsToTheSameOutput()
    {
        using var scope = NewDisposeScope();
        using TinyBlock model = Model();
        LoRA.AddWeightedAdapter(model, new[] { "x", "y" }, new[] { 0.7, 0.3 }, "mix", AdapterCombination.Cat);
        LoRA.SetActiveAdapter(model, "mix");
        model.eval();
        Tensor x = linspace(-1, 1, 16, dtype: ScalarType.Float64).reshape(2, 8);
        Tensor expected = model.call(x);
        using var temp = new TempDirectory("weighted");
        string dir = temp.Path;
        PeftAdapter.Save(model, dir, "mix");
        JsonNode config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, PeftAdapterConfig.FileName)))!;
        Assert.Equal(4, config["r"]!.GetValue<int>());
        Assert.Equal(4.0, config["lora_alpha"]!.GetValue<double>());
        using var fresh = new TinyBlock();
        fresh.to(ScalarType.Float64);
        PeftAdapter.Load(fresh, dir);
        fresh.eval();
        Assert.True(fresh.call(x).allclose(expected, rtol: 0, atol: 0));
    }

    [Fact]
    public void DeleteAdapter_Active_FreesItAndTheNextBecomesActive()
    {
        using var scope = NewDisposeScope();
        using TinyBlock model = Model();
        model.eval();
        Tensor x = linspace(-1, 1, 16, dtype: ScalarType.Float64).reshape(2, 8);
        Tensor baseOut;
        using (LoRA.DisableAdapters(model)) baseOut = model.call(x);
        LoRA.SetActiveAdapter(model, "y");
        Tensor yOut = model.call(x);
        LoRA.SetActiveAdapter(model, "x");
        long before = model.parameters().Count();

        LoRA.DeleteAdapter(model, "x");
        Assert.All(LoRA.Layers(model), l => Assert.Equal(new[] { "y" }, l.Layer.AdapterNames.ToArray()));
        Assert.All(LoRA.Layers(model), l => Assert.Equal("y", l.Layer.ActiveAdapter));
        Assert.DoesNotContain(model.state_dict().Keys, k => k.Contains(".x.", StringComparison.Ordinal));
        Assert.Equal(before - 4, model.parameters().Count());                      // lora_A.x and lora_B.x of two layers
        Assert.True(model.call(x).allclose(yOut, rtol: 0, atol: 0));
        Assert.Throws<ArgumentException>(() => LoRA.DeleteAdapter(model, "x"));

        LoRA.DeleteAdapter(model, "y");
        Assert.All(LoRA.Layers(model), l => Assert.Null(l.Layer.ActiveAdapter));
        Assert.True(model.call(x).allclose(baseOut, rtol: 0, atol: 0));
    }
}

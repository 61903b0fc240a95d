using System;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using FineTuning.Lora.Peft;
using FineTuning.Testing;
using FineTuning.Training;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Lora.Tests;

/// <summary>init_lora_weights: each initialisation's defining property, in fp64 where exactness is claimed.</summary>
public sealed class InitTests
{
    private const int Out = 6, In = 5;

    /// <summary>One fp64 layer y = W x + b (6 x 5) as the root's child "proj".</summary>
    private static (Sequential Model, Tensor W) Layer(ulong seed = 4)
    {
        Sequential model = nn.Sequential(("proj", nn.Linear(In, Out)));
        TinyModels.Initialise(model, seed);
        model.to(ScalarType.Float64);
        return (model, ((Linear)model.named_children().Single().module).weight!.detach().clone());
    }

    private static LoRALinear Apply(Sequential model, LoRAInit init, int r = 2, double alpha = 3, bool dora = false)
    {
        new LoRAAdapter(new LoRAOptions { R = r, Alpha = alpha, InitLoraWeights = init, UseDoRA = dora, Seed = 9 }).Apply(model);
        return LoRA.Layers(model).Single().Layer;
    }

    private static Tensor Residual(LoRALinear layer) => ((Linear)layer.BaseLayer).weight!;

    [Fact]
    public void PiSSA_ResidualPlusScaledBA_ReproducesWAndKeepsTheTailSpectrum()
    {
        using var scope = NewDisposeScope();
        (Sequential model, Tensor w) = Layer();
        LoRALinear layer = Apply(model, LoRAInit.PiSSA, r: 2, alpha: 3);
        double s = 1.5;
        Tensor a = layer.A("default"), b = layer.B("default");
        Assert.True(Residual(layer).add(b.matmul(a).mul(s)).allclose(w, rtol: 0, atol: Tolerance.Fp64Same()));

        // Independent of the SVD routine: the singular values squared are the eigenvalues of W W^T. PiSSA keeps the top r
        // in the adapter (A A^T = B^T B = diag(S_r / s)) and leaves the rest in the residual (Eckart-Young).
        Tensor eig = linalg.eigvalsh(w.matmul(w.t())).flip(0);              // descending, 6 values (one ~0: rank 5)
        Tensor top = eig.narrow(0, 0, 2).div(1.0).sqrt().div(s);
        Assert.True(a.matmul(a.t()).allclose(diag(top), rtol: 0, atol: Tolerance.Fp64Same()));
        Assert.True(b.t().matmul(b).allclose(diag(top), rtol: 0, atol: Tolerance.Fp64Same()));
        double tail = eig.narrow(0, 2, 4).sum().item<double>();
        Assert.Equal(tail, Residual(layer).square().sum().item<double>(), 9);
    }

    [Fact]
    public void PiSSAFast_KnownSpectrum_FindsTheTopDirectionsAndReproducesW()
    {
        using var scope = NewDisposeScope();
        (Sequential model, _) = Layer();
        // W = U diag(sigma) V^T with a large gap after the second value: subspace iteration converges like (sigma3/sigma2)^(2 niter + 1).
        using var g = new Generator(21);
        Tensor u = linalg.qr(randn(new long[] { Out, In }, ScalarType.Float64, generator: g)).Q;
        Tensor v = linalg.qr(randn(new long[] { In, In }, ScalarType.Float64, generator: g)).Q;
        Tensor sigma = tensor(new[] { 10.0, 5.0, 0.05, 0.02, 0.01 });
        Tensor w = u.mul(sigma.unsqueeze(0)).matmul(v.t());
        Tensor top = u.narrow(1, 0, 2).mul(sigma.narrow(0, 0, 2).unsqueeze(0)).matmul(v.narrow(1, 0, 2).t());
        var linear = (Linear)model.named_children().Single().module;
        using (no_grad()) linear.weight!.copy_(w);

        LoRALinear layer = Apply(model, LoRAInit.PiSSAFast(4), r: 2, alpha: 4);
        Tensor delta = layer.B("default").matmul(layer.A("default")).mul(2.0);
        Assert.True(Residual(layer).add(delta).allclose(w, rtol: 0, atol: Tolerance.Fp64Same(10)));
        // (0.05 / 5)^9 * 10 is ~1e-17: the randomized SVD is exact to rounding here, far inside 1e-9.
        Assert.True(delta.allclose(top, rtol: 0, atol: Tolerance.Fp64Same(10)));
    }

    [Fact]
    public void OLoRA_BOrthonormalAUpperTriangular_AndResidualReproducesW()
    {
        using var scope = NewDisposeScope();
        (Sequential model, Tensor w) = Layer();
        LoRALinear layer = Apply(model, LoRAInit.OLoRA, r: 3, alpha: 6);
        Tensor a = layer.A("default"), b = layer.B("default");
        Assert.True(b.t().matmul(b).allclose(eye(3, dtype: ScalarType.Float64), rtol: 0, atol: Tolerance.Fp64Same()));
        Assert.True(a.tril(-1).abs().max().item<double>() == 0);
        // R = Q^T W, so B A = Q_r Q_r^T W: the projection of W onto B's columns.
        Assert.True(b.matmul(a).allclose(b.matmul(b.t()).matmul(w), rtol: 0, atol: Tolerance.Fp64Same()));
        Assert.True(Residual(layer).add(b.matmul(a).mul(2.0)).allclose(w, rtol: 0, atol: Tolerance.Fp64Same()));
    }

    [Fact]
    public void PiSSA_WithDoRA_MagnitudeIsTheOriginalRowNorm_AndOutputUnchanged()
    {
        using var scope = NewDisposeScope();
        (Sequential model, Tensor w) = Layer();
        Tensor x = linspace(-1, 1, 15, dtype: ScalarType.Float64).reshape(3, 5);
        Tensor before = model.call(x);
        LoRALinear layer = Apply(model, LoRAInit.PiSSA, dora: true);
        Assert.True(layer.Magnitude("default").allclose(linalg.vector_norm(w, dims: new long[] { 1 }), rtol: 0, atol: Tolerance.Fp64Same()));
        Assert.True(model.call(x).allclose(before, rtol: 0, atol: Tolerance.Fp64Same()));
    }

    [Fact]
    public void Gaussian_BZeroAndAStdOneOverR()
    {
        using var scope = NewDisposeScope();
        Sequential model = nn.Sequential(("proj", nn.Linear(400, 3)));
        LoRALinear layer = Apply(model, LoRAInit.Gaussian, r: 2);
        Assert.Equal(0, layer.B("default").abs().max().item<float>());
        // 800 draws of N(0, 0.5^2): the sample std is within 5 standard errors (0.5 / sqrt(1600) each) of 0.5.
        double std = layer.A("default").std().item<float>();
        Assert.InRange(std, 0.5 - (5 * 0.5 / 40), 0.5 + (5 * 0.5 / 40));
    }

    [Fact]
    public void Random_BothMatricesNonZeroWithinLinearBounds_OutputChanges()
    {
        using var scope = NewDisposeScope();
        (Sequential model, _) = Layer();
        Tensor x = linspace(-1, 1, 15, dtype: ScalarType.Float64).reshape(3, 5);
        Tensor before = model.call(x);
        LoRALinear layer = Apply(model, LoRAInit.Random, r: 4);
        Tensor b = layer.B("default");
        Assert.True(b.abs().max().item<double>() is > 0 and <= 0.5); // U(-1/sqrt(r), 1/sqrt(r)), r = 4
        Assert.False(model.call(x).allclose(before));
    }

    [Fact]
    public void PiSSA_RankAboveTheSmallerDimension_IsRefused()
    {
        (Sequential model, Tensor w) = Layer();
        var ex = Assert.Throws<InvalidConfigurationException>(() => Apply(model, LoRAInit.PiSSA, r: 6));
        Assert.Contains("r must be at most 5", ex.Message, StringComparison.Ordinal);
        Assert.True(((Linear)model.named_children().Single().module).weight!.equal(w).all().item<bool>());
    }

    [Fact]
    public void SaveLoad_PiSSA_WritesInitAndLoadDoesNotRewriteTheBase()
    {
        using var scope = NewDisposeScope();
        (Sequential model, _) = Layer();
        LoRALinear layer = Apply(model, LoRAInit.PiSSAFast(3));
        Tensor x = linspace(-1, 1, 15, dtype: ScalarType.Float64).reshape(3, 5);
        Tensor expected = model.call(x);
        using var temp = new TempDirectory("pissa");
        string dir = temp.Path;
        PeftAdapter.Save(model, dir);
        Assert.Equal("\"pissa_niter_3\"", JsonNode.Parse(File.ReadAllText(Path.Combine(dir, PeftAdapterConfig.FileName)))!["init_lora_weights"]!.ToJsonString());
        // The adapter belongs on the residual base it was trained over: a load copies A and B and leaves the base alone.
        (Sequential residual, _) = Layer();
        using (no_grad()) ((Linear)residual.named_children().Single().module).weight!.copy_(Residual(layer));
        PeftAdapter.Load(residual, dir);
        Assert.True(residual.call(x).allclose(expected, rtol: 0, atol: 0));
        Assert.Equal(LoRAInit.PiSSAFast(3), LoRA.Layers(residual).Single().Layer.OptionsOf("default")!.InitLoraWeights);
    }

    [Fact]
    public void LoftQ_WithoutQuantization_IsRefusedWithTheWayToGiveIt()
    {
        (Sequential model, _) = Layer();
        string problem = Assert.Single(new LoRAAdapter(new LoRAOptions { InitLoraWeights = LoRAInit.LoftQ(2) }).Validate(model));
        Assert.Contains("WithQLoRA", problem, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => LoRAInit.LoftQ(0));
    }

    [Theory]
    [InlineData("true")]
    [InlineData("false")]
    [InlineData("gaussian")]
    [InlineData("pissa")]
    [InlineData("pissa_niter_16")]
    [InlineData("olora")]
    public void FromPeftValue_RoundTripsPeftsNames(string value) => Assert.Equal(value, LoRAInit.FromPeftValue(value)!.PeftValue);
}

using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Lora.Tests;

/// <summary>The fused LoRA autograd node against the plain composition of TorchSharp ops.</summary>
public sealed class FusedKernelTests
{
    [Theory]
    // The kernel claims the same function as the composition: in float64 only rounding (~1e-15) may differ. In bf16
    // (unit roundoff 2^-9) each of the ~20-term sums may differ by a few 1e-3 relative between the two orders.
    [InlineData(true, ScalarType.Float64, 1e-12)]
    [InlineData(false, ScalarType.Float64, 1e-12)]
    [InlineData(true, ScalarType.BFloat16, 3e-2)]
    public void Fused_OutputAndGradients_EqualPlainComposition(bool bias, ScalarType dtype, double tolerance)
    {
        using var scope = NewDisposeScope();
        (Tensor yF, Tensor[] gF) = Run(fused: true, bias, dtype);
        (Tensor yP, Tensor[] gP) = Run(fused: false, bias, dtype);
        Assert.True(yF.to(ScalarType.Float32).allclose(yP.to(ScalarType.Float32), rtol: tolerance, atol: tolerance), "outputs");
        for (int i = 0; i < gP.Length; i++)
            Assert.True(gF[i].to(ScalarType.Float32).allclose(gP[i].to(ScalarType.Float32), rtol: tolerance, atol: tolerance), $"gradient {i} (x, A, B)");
    }

    [Fact]
    public void Fused_NeverComputesAGradientForTheFrozenWeight()
    {
        using var scope = NewDisposeScope();
        using var layer = MakeLayer(bias: true, ScalarType.Float32);
        Tensor x = randn(2, 3, 16, requires_grad: true);
        layer.call(x).sum().backward();
        Assert.Null(((Linear)layer.BaseLayer).weight!.grad);
        Assert.Null(((Linear)layer.BaseLayer).bias!.grad);
        Assert.NotNull(layer.A("default").grad);
    }

    private static LoRALinear MakeLayer(bool bias, ScalarType dtype)
    {
        using var g = new Generator(5);
        Linear linear = nn.Linear(16, 12, hasBias: bias);
        FineTuning.Testing.TinyModels.Initialise(linear, 3);
        var layer = new LoRALinear(linear);
        layer.AddAdapter("default", r: 4, scaling: 2.0, dropout: 0, generator: g);
        using (no_grad())
        {
            using Tensor r = randn(layer.B("default").shape, generator: g);
            layer.B("default").copy_(r);
        }
        layer.to(dtype);
        return layer;
    }

    private static (Tensor Y, Tensor[] Grads) Run(bool fused, bool bias, ScalarType dtype)
    {
        using var layer = MakeLayer(bias, dtype);
        layer.UseFusedKernel = fused;
        using var g = new Generator(9);
        Tensor x = randn(new long[] { 2, 3, 16 }, generator: g).to(dtype).requires_grad_();
        Tensor y = layer.call(x);
        using Tensor w = randn(y.shape, generator: g).to(dtype);
        y.mul(w).sum().backward();
        return (y.detach(), new[] { x.grad!, layer.A("default").grad!, layer.B("default").grad! }.Select(t => t.detach().clone()).ToArray());
    }
}

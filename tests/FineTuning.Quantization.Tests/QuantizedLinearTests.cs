using System;
using FineTuning.Quantization;
using FineTuning.Testing;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Quantization.Tests;

/// <summary>QuantizedLinear against a Linear holding the dequantized weight.</summary>
public sealed class QuantizedLinearTests
{
    private static QuantizedLinear Layer(bool bias, QuantizationType type, bool dq = false, int inF = 128, int outF = 13)
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(7);
        using Linear linear = nn.Linear(inF, outF, hasBias: bias);
        using (no_grad())
        {
            linear.weight!.copy_(randn(new long[] { outF, inF }, generator: g).mul(0.1));
            linear.bias?.copy_(randn(new long[] { outF }, generator: g));
        }
        return QuantizedLinear.FromLinear(linear, type, doubleQuantization: dq);
    }

    [Theory]
    [InlineData(true, "nf4", false, 1000)]
    [InlineData(false, "fp4", true, 1000)]
    [InlineData(true, "int8", true, 1000)]
    [InlineData(true, "nf4", true, 128 * 5)] // 5 rows per chunk: 13 rows in 3 uneven chunks
    [InlineData(true, "nf4", true, 128 * 13)] // the whole weight in one chunk: one GEMM each way
    [InlineData(false, "int8", false, 1 << 20)]
    public void ForwardAndInputGradient_EqualLinearWithDequantizedWeight(bool bias, string type, bool dq, long chunkElements)
    {
        using var scope = NewDisposeScope();
        using QuantizedLinear layer = Layer(bias, QuantizationType.FromName(type)!, dq);
        layer.ChunkElements = chunkElements;
        using var g = new Generator(8);
        Tensor x = randn(new long[] { 2, 5, 128 }, generator: g).requires_grad_(true);
        Tensor y = layer.call(x);
        Tensor grad = randn(new long[] { 2, 5, 13 }, generator: g);
        y.backward(new[] { grad });

        Tensor w = layer.DenseWeight(ScalarType.Float32).requires_grad_(true);
        Tensor xr = x.detach().clone().requires_grad_(true);
        Tensor yr = nn.functional.linear(xr, w, layer.Bias?.detach());
        yr.backward(new[] { grad });

        Assert.Equal(yr.shape, y.shape);
        // Same dequantized weights, so the chunked layer and the plain linear differ only in float32 summation order.
        Assert.True(Tolerance.WithinBound(y, yr, Tolerance.Fp32MatmulBound(x, w.t(), layer.Bias)), $"forward, max diff {y.sub(yr).abs().max().item<float>()}");
        Assert.True(Tolerance.WithinBound(x.grad!, xr.grad!, Tolerance.Fp32MatmulBound(grad, w)), "input gradient");
        Assert.Null(layer.Bias?.grad);
        Assert.DoesNotContain(layer.parameters(), p => p.requires_grad);
    }

    [Fact]
    public void Output_MayBeWrittenInPlace_AndBackwardDoesNotReadIt()
    {
        // The contract behind OutputWritableInPlace: the output is a new tensor (not a view autograd would refuse to
        // let us modify) and the backward never reads it, so adding into it changes nothing in the input gradient.
        using var scope = NewDisposeScope();
        using QuantizedLinear layer = Layer(bias: true, QuantizationType.NF4);
        Assert.True(((FineTuning.Adapters.IFrozenLinear)layer).OutputWritableInPlace);
        using var g = new Generator(11);
        Tensor x = randn(new long[] { 2, 5, 128 }, generator: g).requires_grad_(true);
        Tensor y = layer.call(x);
        y.add_(3.0);
        Tensor grad = randn(new long[] { 2, 5, 13 }, generator: g);
        y.backward(new[] { grad });

        Tensor w = layer.DenseWeight(ScalarType.Float32);
        Tensor expected = grad.matmul(w);
        Assert.True(Tolerance.WithinBound(x.grad!, expected, Tolerance.Fp32MatmulBound(grad, w)), "input gradient");
    }

    [Fact]
    public void LoRAOverQuantized_OutputAndGradients_EqualTheFormulaWithTheDequantizedWeight()
    {
        using var scope = NewDisposeScope();
        using QuantizedLinear quantized = Layer(bias: true, QuantizationType.NF4, dq: true);
        using var g = new Generator(12);
        using var lora = new FineTuning.Lora.LoRALinear(quantized);
        lora.AddAdapter("default", r: 4, scaling: 2.0, dropout: 0, generator: g);
        using (no_grad())
        {
            using Tensor b = randn(lora.B("default").shape, generator: g).mul(0.1);
            lora.B("default").copy_(b);
        }

        Tensor x = randn(new long[] { 2, 5, 128 }, generator: g).requires_grad_(true);
        Tensor y = lora.call(x);
        Tensor grad = randn(new long[] { 2, 5, 13 }, generator: g);
        y.backward(new[] { grad });

        // Reference in float64 from the same (float32) dequantized weight: separate products, then the sum.
        Tensor w32 = quantized.DenseWeight(ScalarType.Float32);
        Tensor bias32 = quantized.Bias!.detach();
        Tensor a32 = lora.A("default").detach();
        Tensor b32 = lora.B("default").detach();
        Tensor F64(Tensor t) => t.to(ScalarType.Float64);
        Tensor xr = F64(x.detach()).requires_grad_(true);
        Tensor a = F64(a32).requires_grad_(true);
        Tensor bm = F64(b32).requires_grad_(true);
        Tensor yr = xr.matmul(F64(w32).t()).add(F64(bias32)).add(xr.matmul(a.t()).matmul(bm.t()).mul(2.0));
        yr.backward(new[] { F64(grad) });

        // Bounds of float32 sums of products (Tolerance.Fp32MatmulBound: 2 gamma_(k+1) |a||b|), carried through the
        // second product of each low-rank path; the scale 2 is a power of two (exact), and each final sum adds one
        // rounding of the result (2^-24 |y|).
        const double Unit = 1.0 / (1 << 24);
        Tensor x32 = x.detach();
        Tensor Abs(Tensor t) => F64(t).abs();
        Tensor outBound = Tolerance.Fp32MatmulBound(x32, w32.t(), bias32)
            .add(Tolerance.Fp32MatmulBound(x32, a32.t()).matmul(Abs(b32).t()).mul(2))
            .add(Tolerance.Fp32MatmulBound(Abs(x32).matmul(Abs(a32).t()), b32.t()).mul(2))
            .add(yr.detach().abs().mul(Unit));
        Assert.True(Tolerance.WithinBound(y, yr, outBound), $"output, max diff {F64(y).sub(yr).abs().max().item<double>()}");

        Tensor gb = Abs(grad).matmul(Abs(b32));                      // |g||B|, [.., r]
        Tensor gbError = Tolerance.Fp32MatmulBound(grad, b32);       // error of g B
        Tensor xGradBound = Tolerance.Fp32MatmulBound(grad, w32)
            .add(gbError.matmul(Abs(a32)).mul(2))
            .add(Tolerance.Fp32MatmulBound(gb, a32).mul(2))
            .add(xr.grad!.abs().mul(Unit));
        Assert.True(Tolerance.WithinBound(x.grad!, xr.grad!, xGradBound), "input gradient");

        Tensor g2 = grad.reshape(-1, 13);
        Tensor x2 = x32.reshape(-1, 128);
        Tensor aGradBound = gbError.reshape(-1, 4).t().matmul(Abs(x2)).mul(2)
            .add(Tolerance.Fp32MatmulBound(gb.reshape(-1, 4).t(), x2).mul(2));
        Assert.True(Tolerance.WithinBound(lora.A("default").grad!, a.grad!, aGradBound), "A gradient");
        Tensor xaError = Tolerance.Fp32MatmulBound(x2, a32.t());
        Tensor bGradBound = Abs(g2).t().matmul(xaError).mul(2)
            .add(Tolerance.Fp32MatmulBound(g2.t(), Abs(x2).matmul(Abs(a32).t())).mul(2));
        Assert.True(Tolerance.WithinBound(lora.B("default").grad!, bm.grad!, bGradBound), "B gradient");
    }

    [Fact]
    public void Forward_BFloat16_EqualsLinearWithDequantizedBFloat16Weight()
    {
        using var scope = NewDisposeScope();
        using QuantizedLinear layer = Layer(bias: true, QuantizationType.NF4);
        layer.to(ScalarType.BFloat16);
        Assert.Equal(ScalarType.BFloat16, layer.ComputeDType);
        Assert.Equal(ScalarType.BFloat16, layer.Bias!.dtype);
        Tensor x = randn(4, 128).to(ScalarType.BFloat16);
        Tensor y = layer.call(x);
        Tensor yr = nn.functional.linear(x, layer.DenseWeight(ScalarType.BFloat16), layer.Bias);
        Assert.Equal(ScalarType.BFloat16, y.dtype);
        Assert.True(y.to(ScalarType.Float32).allclose(yr.to(ScalarType.Float32), rtol: 1e-2, atol: 1e-2));
    }

    [Fact]
    public void KernelAndComposedOps_GiveIdenticalOutputs()
    {
        using var scope = NewDisposeScope();
        using QuantizedLinear layer = Layer(bias: true, QuantizationType.NF4, dq: true);
        Tensor x = randn(3, 128);
        Tensor yKernel = layer.call(x);
        layer.Method = DequantizeMethod.Composed;
        Tensor yComposed = layer.call(x);
        Assert.True(yKernel.eq(yComposed).all().item<bool>());
    }

    [Fact]
    public void Forward_MixedDTypes_ThrowsTypedError()
    {
        using var scope = NewDisposeScope();
        using QuantizedLinear layer = Layer(bias: true, QuantizationType.NF4);
        var e = Assert.Throws<QuantizationException>(() => layer.call(randn(2, 128).to(ScalarType.BFloat16)));
        Assert.Contains("Mixed dtypes", e.Message, StringComparison.Ordinal);
        var e2 = Assert.Throws<QuantizationException>(() => layer.call(randn(2, 96)));
        Assert.Contains("last dimension must be 128", e2.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromLinear_BadShapes_ThrowTypedErrors()
    {
        using Linear odd = nn.Linear(100, 4);
        Assert.Throws<QuantizationException>(() => QuantizedLinear.FromLinear(odd, QuantizationType.NF4));
        using Linear mixed = nn.Linear(64, 4);
        mixed.bias = new Parameter(zeros(4, ScalarType.Float64));
        var e = Assert.Throws<QuantizationException>(() => QuantizedLinear.FromLinear(mixed, QuantizationType.NF4));
        Assert.Contains("mixes dtypes", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RepeatedForwardBackward_DoesNotLeakTensors()
    {
        using QuantizedLinear layer = Layer(bias: true, QuantizationType.NF4, dq: true);
        layer.ChunkElements = 128 * 4;
        long LiveAfter(int steps)
        {
            for (int i = 0; i < steps; i++)
            {
                using var scope = NewDisposeScope();
                Tensor x = randn(new long[] { 3, 128 }, requires_grad: true);
                layer.call(x).square().sum().backward();
            }
            return DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        }
        long first = LiveAfter(3);
        Assert.Equal(first, LiveAfter(30));
    }

    [Fact]
    public void DenseWeight_IsTheDequantizedWeight()
    {
        using var scope = NewDisposeScope();
        using QuantizedLinear layer = Layer(bias: false, QuantizationType.FP4);
        Assert.Equal(128, layer.InFeatures);
        Assert.Equal(13, layer.OutFeatures);
        Assert.True(layer.DenseWeight(ScalarType.Float32).eq(layer.Weight.Dequantize()).all().item<bool>());
    }
}

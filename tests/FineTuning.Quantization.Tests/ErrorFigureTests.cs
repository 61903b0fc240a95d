using System.Globalization;
using FineTuning.Quantization;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace FineTuning.Quantization.Tests;

/// <summary>The error figures quoted in docs/quantization.md: 256 x 4096 N(0, 1) values, seed 1, blocks of 64.</summary>
public sealed class ErrorFigureTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("nf4", false, 0.0920, 4.5)]
    [InlineData("nf4", true, 0.0920, 4.127)]
    [InlineData("fp4", false, 0.1220, 4.5)]
    [InlineData("int8", false, 0.0059, 8.5)]
    public void NormalData_RmseAndBits_AsDocumented(string type, bool dq, double rmse, double bits)
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(1);
        Tensor w = randn(new long[] { 256, 4096 }, generator: g);
        using QuantizedWeight q = QuantizedWeight.Quantize(w, QuantizationType.FromName(type)!, 64, dq);
        QuantizationReport r = q.Measure(w);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{type} dq={dq}: rmse {r.Rmse:F5} max {r.MaxAbsError:F4} bits {r.BitsPerParameter:F4}"));
        Assert.Equal(rmse, r.Rmse, 0.0005);
        Assert.Equal(bits, r.BitsPerParameter, 0.001);
    }
}

using System;
using FineTuning.Testing;
using FineTuning.Training;
using FsCheck.Xunit;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Core.Tests.Training;

/// <summary>
/// The optimizer's C# loops. AdamW's loop is held to TorchSharp's own AdamW by <see cref="OptimizerParityTests"/> (its
/// float32 cases take the loop); here the gradient's sum of squares against float64, and which tensors the loops take.
/// </summary>
public sealed class OptimizerKernelsTests
{
    /// <summary>
    /// Any length (tails, and several blocks of 4,096): each float32 lane sums at most 512 squares and the lanes' sum
    /// adds 8 more terms, so the result is within gamma_520 of the exact sum (all terms are non-negative).
    /// </summary>
    [Property(MaxTest = 60)]
    public bool SumOfSquares_AnyLength_WithinDerivedBoundOfFloat64(int seed, ushort lengthSeed, byte scaleByte)
    {
        using var scope = NewDisposeScope();
        using var g = new Generator((ulong)(uint)seed);
        long n = lengthSeed % 20000;
        double scale = Math.Pow(10, (scaleByte % 9) - 4);
        Tensor t = randn(new long[] { n }, generator: g) * scale;
        double exact = t.to(ScalarType.Float64).square().sum().item<double>();
        double u = Tolerance.Fp32Unit;
        return Math.Abs(OptimizerKernels.SumOfSquares(t) - exact) <= (520 * u / (1 - (520 * u)) * exact) + 1e-300;
    }

    [Fact]
    public void Applies_OnlyToContiguousFloat32CpuTensors()
    {
        using var scope = NewDisposeScope();
        Assert.True(OptimizerKernels.Applies(zeros(3, 4)));
        Assert.False(OptimizerKernels.Applies(zeros(4, 3).t()));
        Assert.False(OptimizerKernels.Applies(zeros(new long[] { 3 }, ScalarType.Float64)));
        Assert.False(OptimizerKernels.Applies(zeros(new long[] { 3 }, ScalarType.BFloat16)));
    }
}

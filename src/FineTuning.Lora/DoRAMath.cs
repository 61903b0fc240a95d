using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Lora;

/// <summary>
/// Weight-decomposed LoRA (Liu et al. 2024, "DoRA", arXiv:2402.09353), as PEFT computes it:
/// <c>W' = m / ||W + s B A||_row * (W + s B A)</c>, where the row norm (over the input dimension, one value per
/// output) is treated as a constant in the backward pass (the paper's section 4.3), and m starts at ||W||_row.
/// </summary>
internal static class DoRAMath
{
    /// <summary>||W + s B A|| per output row, in fp32 (fp64 for an fp64 weight), without gradient.</summary>
    public static Tensor WeightNorm(Tensor denseWeight, Tensor a, Tensor b, double scaling)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        ScalarType wide = Wide(denseWeight.dtype);
        Tensor w = denseWeight.to(wide).add(b.to(wide).matmul(a.to(wide)), alpha: scaling);
        return linalg.vector_norm(w, ord: 2, dims: new long[] { 1 }).MoveToOuterDisposeScope();
    }

    /// <summary>The dtype merges are computed in: fp32, or fp64 for fp64 weights (so fp64 models merge exactly).</summary>
    public static ScalarType Wide(ScalarType dtype) => dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;

    /// <summary>
    /// The DoRA output from pieces the caller already has: <c>scale * (x W^T + s B A x) + bias</c> with
    /// <c>scale = m / norm</c>, written as PEFT does so that the base output is reused:
    /// <c>base + (scale - 1) * baseWithoutBias + scale * s * loraOut</c>.
    /// </summary>
    public static Tensor Combine(Tensor baseOutput, Tensor baseWithoutBias, Tensor loraOut, Tensor magnitude, Tensor norm, double scaling)
    {
        using var scope = NewDisposeScope();
        Tensor scale = magnitude.div(norm.to(magnitude.dtype)).to(baseOutput.dtype);
        Tensor result = baseOutput.add(baseWithoutBias.mul(scale.sub(1))).add(loraOut.mul(scale).mul(scaling));
        return result.MoveToOuterDisposeScope();
    }
}

using System;

namespace FineTuning.Testing;

/// <summary>
/// Numeric tolerances derived from the arithmetic, not from what one CPU produced. libtorch picks its kernels per CPU
/// (AVX-512, AVX2 or portable code, MKL code paths by instruction set), so two machines sum the same terms in different
/// orders and with or without fused multiply-adds: a test may only demand what rounding analysis guarantees.
/// </summary>
/// <remarks>
/// Two ways to claim "the same function": run both sides in float64, where rounding contributes about 1e-13 relative
/// and <see cref="Fp64Same"/> leaves a gap of four orders of magnitude to any real (formula) difference; or compare
/// float32 results with the worst-case bound of the reduction (Higham, Accuracy and Stability of Numerical
/// Algorithms, 2nd ed., section 3.1: |fl(sum) - sum| &lt;= gamma_n * sum |terms|, gamma_n = n u / (1 - n u)).
/// </remarks>
public static class Tolerance
{
    /// <summary>Unit roundoff of float32 (2^-24).</summary>
    public const double Fp32Unit = 5.9604644775390625e-8;

    /// <summary>Unit roundoff of float64 (2^-53).</summary>
    public const double Fp64Unit = 1.1102230246251565e-16;

    /// <summary>
    /// Largest difference between two float32 evaluations of one sum of <paramref name="terms"/> terms in any two
    /// orders: each is within gamma_n * <paramref name="sumOfMagnitudes"/> of the exact sum.
    /// </summary>
    public static double Fp32Sum(int terms, double sumOfMagnitudes) => 2 * Gamma(terms, Fp32Unit) * sumOfMagnitudes;

    /// <summary>
    /// Absolute tolerance for two float64 evaluations of what the test claims is the same computation, for values of
    /// about <paramref name="magnitude"/>: 1e-9 relative. Rounding in the tiny test models stays below 1e-12; a real
    /// difference (a wrong mask, position or formula) is far above.
    /// </summary>
    public static double Fp64Same(double magnitude = 1) => 1e-9 * Math.Max(1, Math.Abs(magnitude));

    /// <summary>
    /// Element-wise bound on the difference between two float32 evaluations of <c>a.matmul(b)</c> (plus a bias) in any
    /// summation order: 2 gamma_(K+1) (|a| |b| + |bias|), K the inner dimension. Rigorous, so it holds on every CPU.
    /// </summary>
    public static TorchSharp.torch.Tensor Fp32MatmulBound(TorchSharp.torch.Tensor a, TorchSharp.torch.Tensor b, TorchSharp.torch.Tensor? bias = null)
    {
        int k = (int)a.shape[^1];
        TorchSharp.torch.Tensor sum = a.detach().abs().to(TorchSharp.torch.ScalarType.Float64).matmul(b.detach().abs().to(TorchSharp.torch.ScalarType.Float64));
        if (bias is not null) sum = sum.add(bias.detach().abs().to(TorchSharp.torch.ScalarType.Float64));
        return sum.mul(2 * Gamma(k + 1, Fp32Unit));
    }

    /// <summary>True when every element of <paramref name="actual"/> is within <paramref name="bound"/> of <paramref name="expected"/>.</summary>
    public static bool WithinBound(TorchSharp.torch.Tensor actual, TorchSharp.torch.Tensor expected, TorchSharp.torch.Tensor bound) =>
        actual.detach().to(TorchSharp.torch.ScalarType.Float64).sub(expected.detach().to(TorchSharp.torch.ScalarType.Float64)).abs()
            .le(bound).all().item<bool>();

    private static double Gamma(int n, double unit) => n * unit / (1 - (n * unit));
}

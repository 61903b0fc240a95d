using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace FineTuning.Models.Fused;

/// <summary>
/// <c>exp</c> of float32 vectors for the C# kernels (SwiGLU, the loss's softmax): Cody-Waite range reduction
/// <c>x = n ln2 + r</c>, |r| &lt;= ln2 / 2, a degree-7 polynomial for <c>e^r</c> (Cephes' <c>expf</c> coefficients) in
/// fused multiply-adds, and <c>2^n</c> put into the exponent bits. Within 2 ulp of the exact value for
/// x in [-87.3, 88] (tested against <see cref="Math.Exp"/>); below -87.3 the result is <c>e^-87.3</c> (about 1.2e-38,
/// the smallest normal float's order: no subnormals), above 88 it is <c>e^88</c> (about 1.7e38) (the callers only take
/// exponentials of non-positive numbers or of numbers whose exponential is added to 1). NaN gives NaN.
/// </summary>
/// <remarks>
/// .NET 10's <c>Vector.Exp</c> for floats widens to float64; the SwiGLU loop built on it lost to libtorch's ops, and
/// the one built on this won (docs/benchmarks/hot-paths.md).
/// </remarks>
internal static class FastExp
{
    private const float Low = -87.3f;
    private const float High = 88.0f; // 2^n stays finite: n = 127 at most
    private const float Log2E = 1.44269504088896341f;
    private const float Ln2High = 0.693359375f;
    private const float Ln2Low = -2.12194440e-4f;
    private const float P0 = 1.9875691500E-4f;
    private const float P1 = 1.3981999507E-3f;
    private const float P2 = 8.3334519073E-3f;
    private const float P3 = 4.1665795894E-2f;
    private const float P4 = 1.6666665459E-1f;
    private const float P5 = 5.0000001201E-1f;

    /// <summary>Whether <see cref="Exp(Vector256{float})"/> runs in hardware (AVX2 or NEON pairs), so the kernels run as vector loops (16 lanes where Vector512 runs in hardware too).</summary>
    internal static bool Narrow => Vector256.IsHardwareAccelerated;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> Exp(Vector512<float> x)
    {
        // Min/Max return the second operand for NaN on x64, so NaN is tested and restored at the end.
        Vector512<float> nan = Vector512.Equals(x, x);
        Vector512<float> c = Vector512.Min(Vector512.Max(x, Vector512.Create(Low)), Vector512.Create(High));
        Vector512<float> n = Vector512.Round(c * Vector512.Create(Log2E));
        Vector512<float> r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-Ln2High), c);
        r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-Ln2Low), r);
        Vector512<float> p = Vector512.Create(P0);
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P1));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P2));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P3));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P4));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P5));
        p = Vector512.FusedMultiplyAdd(p * r, r, r) + Vector512<float>.One;
        Vector512<int> bits = (Vector512.ConvertToInt32(n) + Vector512.Create(127)) << 23;
        return Vector512.ConditionalSelect(nan, p * bits.AsSingle(), x);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> Exp(Vector256<float> x)
    {
        Vector256<float> nan = Vector256.Equals(x, x);
        Vector256<float> c = Vector256.Min(Vector256.Max(x, Vector256.Create(Low)), Vector256.Create(High));
        Vector256<float> n = Vector256.Round(c * Vector256.Create(Log2E));
        Vector256<float> r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-Ln2High), c);
        r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-Ln2Low), r);
        Vector256<float> p = Vector256.Create(P0);
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(P1));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(P2));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(P3));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(P4));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(P5));
        p = Vector256.FusedMultiplyAdd(p * r, r, r) + Vector256<float>.One;
        Vector256<int> bits = (Vector256.ConvertToInt32(n) + Vector256.Create(127)) << 23;
        return Vector256.ConditionalSelect(nan, p * bits.AsSingle(), x);
    }

    /// <summary>The scalar form, for vector tails: the same clamp, then <see cref="MathF.Exp"/>.</summary>
    internal static float Exp(float x) => float.IsNaN(x) ? x : MathF.Exp(Math.Clamp(x, Low, High));
}

using System;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Models.Llama;

/// <summary>
/// Rotary position embeddings (Su et al. 2021, https://arxiv.org/abs/2104.09864) in Hugging Face's
/// "rotate half" layout: dimension i of a head is paired with dimension i + head_dim/2, rotated by
/// angle <c>position * theta^(-2i/head_dim)</c>, optionally rescaled per frequency (<c>llama3</c> rope scaling).
/// </summary>
internal static class RotaryEmbedding
{
    /// <summary>
    /// The inverse frequencies <c>theta^(-2i/headDim)</c>, i &lt; headDim/2, rescaled as HF's
    /// <c>_compute_llama3_parameters</c> when <paramref name="scaling"/> is given: wavelengths
    /// <c>2 pi / f</c> longer than <c>original / low_freq_factor</c> are divided by <c>factor</c>, those
    /// shorter than <c>original / high_freq_factor</c> kept, and those between interpolated with
    /// <c>s = (original / wavelength - low) / (high - low)</c>: <c>(1 - s) f / factor + s f</c>.
    /// </summary>
    internal static float[] InverseFrequencies(int headDim, double theta, LlamaRopeScaling? scaling)
    {
        var invFreq = new float[headDim / 2];
        for (int i = 0; i < invFreq.Length; i++)
        {
            double f = 1.0 / Math.Pow(theta, 2.0 * i / headDim);
            if (scaling is not null && scaling.EffectiveType == LlamaRopeScaling.Llama3)
            {
                double original = scaling.OriginalMaxPositionEmbeddings;
                double lowFreqWavelength = original / scaling.LowFreqFactor;
                double highFreqWavelength = original / scaling.HighFreqFactor;
                double wavelength = 2 * Math.PI / f;
                if (wavelength > lowFreqWavelength)
                {
                    f /= scaling.Factor;
                }
                else if (wavelength >= highFreqWavelength)
                {
                    double smooth = ((original / wavelength) - scaling.LowFreqFactor) / (scaling.HighFreqFactor - scaling.LowFreqFactor);
                    f = ((1 - smooth) * f / scaling.Factor) + (smooth * f);
                }
            }

            invFreq[i] = (float)f;
        }

        return invFreq;
    }

    /// <summary>cos and sin tables of shape [batch, 1, seq, headDim] for <paramref name="positionIds"/> [batch, seq].</summary>
    internal static (Tensor Cos, Tensor Sin) Tables(Tensor positionIds, int headDim, double theta, ScalarType dtype) =>
        Tables(positionIds, InverseFrequencies(headDim, theta, null), dtype);

    /// <summary>cos and sin tables of shape [batch, 1, seq, 2 * invFreq.Length] for <paramref name="positionIds"/> [batch, seq].</summary>
    internal static (Tensor Cos, Tensor Sin) Tables(Tensor positionIds, float[] invFreq, ScalarType dtype)
    {
        using var scope = torch.NewDisposeScope();
        Tensor inv = torch.tensor(invFreq, device: positionIds.device);
        Tensor freqs = positionIds.to_type(ScalarType.Float32).unsqueeze(-1) * inv; // [B, T, hd/2]
        Tensor emb = torch.cat(new[] { freqs, freqs }, -1).unsqueeze(1);            // [B, 1, T, hd]
        Tensor cos = emb.cos().to_type(dtype);
        Tensor sin = emb.sin().to_type(dtype);
        return (cos.MoveToOuterDisposeScope(), sin.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// Rotates <paramref name="x"/> [batch, heads, seq, headDim] by the tables from <see cref="Tables(Tensor, float[], ScalarType)"/>:
    /// in float32 with the C# kernel (<see cref="Fused.RotaryFunction"/>) when <paramref name="kernel"/> allows it, otherwise with ordinary ops.
    /// </summary>
    internal static Tensor Apply(Tensor x, Tensor cos, Tensor sin, bool kernel = true) =>
        kernel && Fused.RotaryFunction.Applies(x, cos, sin) ? Fused.RotaryFunction.Apply(x, cos, sin) : ApplyOps(x, cos, sin);

    /// <summary>The rotation as ordinary ops (bf16, fp64, and the reference of the kernel's tests).</summary>
    internal static Tensor ApplyOps(Tensor x, Tensor cos, Tensor sin)
    {
        using var scope = torch.NewDisposeScope();
        long half = x.shape[^1] / 2;
        // rotate_half(x) * sin = cat(-x2, x1) * sin = roll(x, half) * cat(-sin1, sin2): the same products (negating a
        // factor is exact), but backward is one roll of the gradient instead of two narrowed halves, whose gradients
        // autograd builds as full-size zero tensors with the half copied in. The signed table is small ([.., seq, dim]).
        Tensor signedSin = torch.cat(new[] { sin.narrow(-1, 0, half).neg(), sin.narrow(-1, half, half) }, -1);
        // Temporaries freed as soon as they are used, and the sum in place (addition saves nothing for backward).
        Tensor result = x * cos;
        using (Tensor rolled = x.roll(half, -1))
        using (Tensor sinePart = rolled * signedSin)
        {
            result.add_(sinePart);
        }

        return result.MoveToOuterDisposeScope();
    }
}

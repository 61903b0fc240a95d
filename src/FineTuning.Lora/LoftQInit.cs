using System;
using FineTuning.Adapters;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Lora;

/// <summary>
/// LoftQ (Li et al. 2023, "LoftQ: LoRA-Fine-Tuning-Aware Quantization", arXiv:2310.08659, algorithm 1), as PEFT's
/// <c>loftq_init</c>: starting from Q = quantize(W), alternately fit B A to the quantization error by a truncated SVD and
/// quantize what the adapter does not carry, Q = quantize(W - s B A). Unlike PEFT, the fit is divided by the scale s, so
/// that Q + s B A approximates W for any lora_alpha (PEFT's result is the same when lora_alpha = r).
/// </summary>
internal static class LoftQInit
{
    /// <summary>Sets <paramref name="adapter"/>'s A and B on a layer whose quantized base holds quantize(<paramref name="original"/>).</summary>
    public static void Apply(LoRALinear layer, string adapter, Tensor original, int iterations)
    {
        var frozen = (IFrozenLinear)layer.BaseLayer;
        if (iterations > 1 && frozen is not IRequantizableLinear)
            throw new NotSupportedException($"LoftQ with loftq_iter > 1 over a {frozen.GetType().Name} (not an IRequantizableLinear) is not supported yet.");
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        double scaling = layer.Scaling(adapter);
        long r = layer.A(adapter).shape[0];
        Tensor w = original.to(ScalarType.Float32);
        Tensor a = zeros(new[] { r, w.shape[1] }), b = zeros(new[] { w.shape[0], r });
        for (int i = 0; i < iterations; i++)
        {
            if (i > 0) ((IRequantizableLinear)frozen).Requantize(w.sub(b.matmul(a).mul(scaling)).to(original.dtype));
            Tensor q = frozen.DenseWeight(ScalarType.Float32);
            (b, a) = LowRank(w.sub(q).div(scaling), r);
        }
        layer.A(adapter).copy_(a);
        layer.B(adapter).copy_(b);
    }

    /// <summary>The best rank-r factorisation B A of <paramref name="m"/>, balanced: B = U_r sqrt(S_r), A = sqrt(S_r) V_r^T.</summary>
    private static (Tensor B, Tensor A) LowRank(Tensor m, long r)
    {
        (Tensor u, Tensor s, Tensor vh) = linalg.svd(m, fullMatrices: false);
        Tensor root = s.narrow(0, 0, r).sqrt();
        return (u.narrow(1, 0, r).mul(root.unsqueeze(0)), vh.narrow(0, 0, r).mul(root.unsqueeze(1)));
    }
}

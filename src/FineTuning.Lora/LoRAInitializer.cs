using System;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuning.Lora;

/// <summary>
/// The <see cref="LoRAInit"/> initialisations after A (Kaiming-uniform) and B (zero) exist, as PEFT's
/// <c>LoraLayer.reset_lora_parameters</c>, <c>pissa_init</c> and <c>olora_init</c> compute them. PiSSA and OLoRA run in
/// fp32 (fp64 for an fp64 weight) and write the residual W - s B A back into the base weight.
/// </summary>
internal static class LoRAInitializer
{
    public static void Apply(LoRAInit init, Linear? denseBase, Tensor a, Tensor b, double scaling, Generator generator)
    {
        if (init == LoRAInit.Default || init.IsLoftQ) return; // LoftQ runs in LoRAAdapter: it needs the quantizer
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        long r = a.shape[0];
        if (init == LoRAInit.Random)
        {
            // nn.Linear's own initialisation of B ([out, r]): Kaiming-uniform(a = sqrt(5)) = U(-1/sqrt(r), 1/sqrt(r)).
            double bound = 1.0 / Math.Sqrt(r);
            b.copy_(rand(b.shape, generator: generator).mul(2 * bound).sub(bound));
            return;
        }
        if (init == LoRAInit.Gaussian)
        {
            a.copy_(randn(a.shape, generator: generator).mul(1.0 / r));
            return;
        }

        Tensor weight = (denseBase ?? throw new InvalidOperationException($"init_lora_weights \"{init.PeftValue}\" rewrites the base weight and needs a dense Linear base.")).weight!;
        Tensor w = weight.to(DoRAMath.Wide(weight.dtype));
        (Tensor newB, Tensor newA) = init.IsPiSSA ? PiSSA(w, r, scaling, init.Iterations, init == LoRAInit.PiSSA, generator) : OLoRA(w, r);
        a.copy_(newA);
        b.copy_(newB);
        // The residual base: W - s B A with the very A and B the adapter holds, so base + s B A reproduces W.
        weight.copy_(w.sub(newB.to(w.dtype).matmul(newA.to(w.dtype)).mul(scaling)));
    }

    /// <summary>PiSSA: B = U_r sqrt(S_r / s), A = sqrt(S_r / s) V_r^T from the full SVD, or from a randomized one with <paramref name="niter"/> iterations.</summary>
    private static (Tensor B, Tensor A) PiSSA(Tensor w, long r, double scaling, int niter, bool exact, Generator generator)
    {
        Tensor u, s, vh;
        if (exact)
        {
            (u, s, vh) = linalg.svd(w, fullMatrices: false);
            u = u.narrow(1, 0, r);
            s = s.narrow(0, 0, r);
            vh = vh.narrow(0, 0, r);
        }
        else
        {
            (u, s, Tensor v) = RandomizedSvd.LowRank(w, r, niter, generator);
            vh = v.t();
        }
        Tensor root = s.div(scaling).sqrt();
        return (u.mul(root.unsqueeze(0)), vh.mul(root.unsqueeze(1)));
    }

    /// <summary>OLoRA: the reduced QR W = Q R, B = Q[:, :r], A = R[:r] (PEFT does not divide by the scale here).</summary>
    private static (Tensor B, Tensor A) OLoRA(Tensor w, long r)
    {
        (Tensor q, Tensor rr) = linalg.qr(w);
        return (q.narrow(1, 0, r).contiguous(), rr.narrow(0, 0, r).contiguous());
    }
}

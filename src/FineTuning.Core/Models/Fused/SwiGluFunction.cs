using System.Collections.Generic;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace FineTuning.Models.Fused;

/// <summary>
/// SwiGLU's gating <c>silu(gate) * up</c> (Shazeer 2020, https://arxiv.org/abs/2002.05202) as one autograd node that
/// saves gate and up only: silu is recomputed in backward instead of kept, which saves one [tokens, intermediate]
/// tensor per layer. Backward, with s = sigmoid(gate): <c>d_up = g * gate * s</c>,
/// <c>d_gate = g * up * s * (1 + gate - gate * s)</c>, computed in float32 for lower-precision inputs.
/// </summary>
internal sealed class SwiGluFunction : SingleTensorFunction<SwiGluFunction>
{
    public override string Name => "FusedSwiGLU";

    /// <summary>vars: gate, up (same shape and dtype).</summary>
    public override Tensor forward(AutogradContext ctx, params object[] vars)
    {
        var gate = (Tensor)vars[0];
        var up = (Tensor)vars[1];
        ctx.save_for_backward(new List<Tensor> { gate, up });
        // As nn.functional.silu(gate) * up computes it, so the forward is bit for bit the unfused one.
        Tensor y = nn.functional.silu(gate);
        return y.mul_(up);
    }

    public override List<Tensor> backward(AutogradContext ctx, Tensor grad_output)
    {
        using var scope = NewDisposeScope();
        List<Tensor> saved = SavedTensors.Take(ctx);
        ScalarType dtype = saved[0].dtype;
        Tensor gate = saved[0].AtLeastFloat32(), up = saved[1].AtLeastFloat32(), g = grad_output.AtLeastFloat32();
        Tensor s = gate.sigmoid();
        Tensor silu = gate.mul(s);
        Tensor gradGate = gate.sub(silu).add_(1).mul_(s).mul_(g).mul_(up).to_type(dtype);
        Tensor gradUp = silu.mul_(g).to_type(dtype);
        SavedTensors.Release(grad_output);
        return new List<Tensor> { SavedTensors.Return(gradGate), SavedTensors.Return(gradUp) };
    }
}

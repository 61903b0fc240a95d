using System.Collections.Generic;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace FineTuning.Models.Fused;

/// <summary>
/// LLaMA's RMSNorm <c>y = w * (x * rstd).to(x.dtype)</c>, <c>rstd = 1 / sqrt(mean(x^2) + eps)</c> (computed in float32
/// or wider, as Hugging Face's <c>LlamaRMSNorm</c>) as one autograd node that saves only x and rstd ([..., 1]).
/// The composition of ordinary ops also keeps the normalised [tokens, hidden] tensor for the weight's product. Backward,
/// with n = x * rstd and gn = g * w (wide): <c>dx = rstd * (gn - n * mean(gn * n))</c>, <c>dw = sum(g * n.to(x.dtype))</c>.
/// </summary>
internal sealed class RmsNormFunction : SingleTensorFunction<RmsNormFunction>
{
    public override string Name => "FusedRMSNorm";

    /// <summary>vars: x, the weight, then eps (a double).</summary>
    public override Tensor forward(AutogradContext ctx, params object[] vars)
    {
        var x = (Tensor)vars[0];
        var weight = (Tensor)vars[1];
        var eps = (double)vars[2];
        using var scope = NewDisposeScope();
        Tensor wide = x.AtLeastFloat32();
        Tensor rstd = wide.square().mean(new long[] { -1 }, keepdim: true).add_(eps).rsqrt_();
        Tensor normed = wide.mul(rstd).to_type(x.dtype);
        Tensor y = weight.mul(normed);
        // TorchSharp turns the saved list into native saved variables after forward returns: rstd must outlive this scope.
        ctx.save_for_backward(new List<Tensor> { x, weight, rstd.MoveToOuterDisposeScope() });
        ctx.save_data("weightGrad", weight.requires_grad);
        return y.MoveToOuterDisposeScope();
    }

    public override List<Tensor> backward(AutogradContext ctx, Tensor grad_output)
    {
        using var scope = NewDisposeScope();
        List<Tensor> saved = SavedTensors.Take(ctx);
        Tensor x = saved[0], weight = saved[1], rstd = saved[2];
        bool weightGrad = (bool)ctx.get_data("weightGrad");
        Tensor wide = x.AtLeastFloat32();
        Tensor normed = wide.mul(rstd);                                          // n, recomputed
        Tensor gn = grad_output.mul(weight).to_type(wide.dtype);                // g * w
        Tensor mean = gn.mul(normed).mean(new long[] { -1 }, keepdim: true);   // mean(gn * n)
        Tensor gx = gn.sub_(normed.mul(mean)).mul_(rstd).to_type(x.dtype);
        Tensor? gw = null;
        if (weightGrad)
        {
            long[] reduce = new long[grad_output.dim() - 1];
            for (int i = 0; i < reduce.Length; i++) reduce[i] = i;
            gw = grad_output.mul(normed.to_type(x.dtype)).sum(reduce).to_type(weight.dtype).MoveToOuterDisposeScope();
        }

        SavedTensors.Release(grad_output);
        // One entry per argument of apply: none for eps.
        return new List<Tensor> { gx.MoveToOuterDisposeScope(), gw!, null! };
    }
}

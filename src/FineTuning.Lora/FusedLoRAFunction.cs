using System.Collections.Generic;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace FineTuning.Lora;

/// <summary>
/// <c>y = x W^T + b + s (x A^T) B^T</c> as one autograd node. The frozen W and b are passed outside the tensor
/// inputs, so autograd never computes or stores a gradient for them; the node saves x, A, B and the rank-r
/// intermediate h = x A^T (the only activation the backward needs beyond x), and the backward accumulates in
/// place: <c>dx = g W + (s g B) A</c>, <c>dA = (s g B)^T x</c>, <c>dB = s g^T h</c>.
/// </summary>
internal sealed class FusedLoRAFunction : SingleTensorFunction<FusedLoRAFunction>
{
    public override string Name => "FusedLoRALinear";

    /// <summary>vars: x, A, B (tensors with gradients), then a <see cref="Frozen"/> holding W, b and s.</summary>
    public override Tensor forward(AutogradContext ctx, params object[] vars)
    {
        var x = (Tensor)vars[0];
        var a = (Tensor)vars[1];
        var b = (Tensor)vars[2];
        var frozen = (Frozen)vars[3];
        long[] shape = x.shape;
        Tensor x2 = x.reshape(-1, shape[^1]); // saved for backward: not disposed here
        Tensor h = x2.matmul(a.t());
        using Tensor y2 = frozen.Bias is null ? x2.matmul(frozen.Weight.t()) : addmm(frozen.Bias, x2, frozen.Weight.t(), 1, 1);
        y2.addmm_(h, b.t(), beta: 1, alpha: (float)frozen.Scaling);
        ctx.save_for_backward(new List<Tensor> { x2, a, b, h });
        ctx.save_data("frozen", frozen);
        ctx.save_data("shape", shape);
        long[] outShape = (long[])shape.Clone();
        outShape[^1] = frozen.Weight.shape[0];
        return y2.reshape(outShape);
    }

    public override List<Tensor> backward(AutogradContext ctx, Tensor grad_output)
    {
        List<Tensor> saved = ctx.get_saved_variables();
        Tensor x2 = saved[0], a = saved[1], b = saved[2], h = saved[3];
        var frozen = (Frozen)ctx.get_data("frozen");
        var shape = (long[])ctx.get_data("shape");
        Tensor g = grad_output.reshape(-1, grad_output.shape[^1]);
        Tensor gh = g.matmul(b).mul_(frozen.Scaling);          // [N, r]
        Tensor gB = g.t().matmul(h).mul_(frozen.Scaling);      // [out, r]
        Tensor gA = gh.t().matmul(x2);                         // [r, in]
        Tensor gx = g.matmul(frozen.Weight).addmm_(gh, a);     // [N, in], accumulated in place
        // TorchSharp expects one entry per argument, tensors or not: none for the frozen record.
        return new List<Tensor> { gx.reshape(shape), gA, gB, null! };
    }

    /// <summary>The frozen base weight, its bias and the LoRA scale: not autograd inputs.</summary>
    internal sealed record Frozen(Tensor Weight, Tensor? Bias, double Scaling);
}

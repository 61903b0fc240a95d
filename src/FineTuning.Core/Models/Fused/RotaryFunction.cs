using System.Collections.Generic;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace FineTuning.Models.Fused;

/// <summary>
/// Rotary embedding in Hugging Face's "rotate half" layout, <c>y = x * cos + rotate_half(x) * sin</c> with
/// <c>rotate_half(x) = cat(-x2, x1)</c>, as one autograd node that saves only the (shared) cos and sin tables: the map
/// is linear in x, so backward is the transposed rotation <c>dx = g * cos + cat((g * sin)2, -(g * sin)1)</c>. The
/// composition of ordinary ops keeps x and the rotated copy (two [batch, heads, seq, head_dim] tensors per call) and
/// allocates the concatenation; this writes the halves in place.
/// </summary>
internal sealed class RotaryFunction : SingleTensorFunction<RotaryFunction>
{
    public override string Name => "FusedRotaryEmbedding";

    /// <summary>vars: x [..., head_dim], cos, sin (broadcastable to x; no gradient is computed for them).</summary>
    public override Tensor forward(AutogradContext ctx, params object[] vars)
    {
        var x = (Tensor)vars[0];
        var cos = (Tensor)vars[1];
        var sin = (Tensor)vars[2];
        ctx.save_for_backward(new List<Tensor> { cos, sin });
        return Rotate(x, cos, sin, sign: 1);
    }

    public override List<Tensor> backward(AutogradContext ctx, Tensor grad_output)
    {
        using var scope = NewDisposeScope();
        List<Tensor> saved = SavedTensors.Take(ctx);
        // The transposed rotation is the rotation by the opposite angle: sin changes sign.
        Tensor gx = Rotate(grad_output, saved[0], saved[1], sign: -1).MoveToOuterDisposeScope();
        SavedTensors.Release(grad_output);
        return new List<Tensor> { gx, null!, null! };
    }

    /// <summary><c>x * cos + sign * rotate_half(x) * sin</c>: first half <c>x1 cos1 - sign x2 sin1</c>, second <c>x2 cos2 + sign x1 sin2</c>.</summary>
    private static Tensor Rotate(Tensor x, Tensor cos, Tensor sin, int sign)
    {
        long half = x.shape[^1] / 2;
        Tensor y = x.mul(cos);
        using Tensor x1 = x.narrow(-1, 0, half), x2 = x.narrow(-1, half, half);
        using Tensor y1 = y.narrow(-1, 0, half), y2 = y.narrow(-1, half, half);
        using Tensor sin1 = sin.narrow(-1, 0, half), sin2 = sin.narrow(-1, half, half);
        y1.addcmul_(x2, sin1, value: -sign);
        y2.addcmul_(x1, sin2, value: sign);
        return y;
    }
}

using System.Collections.Generic;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace FineTuning.Models;

/// <summary>
/// <c>sum_i CE(h_i W^T, y_i)</c> over the labels that are not ignored, computed chunk by chunk of tokens so that only
/// one chunk's logits [chunk, vocab] exist at a time (the "fused linear cross-entropy" of Liger-Kernel,
/// https://arxiv.org/abs/2410.10989). The gradients are exact and computed in the same pass: for a chunk,
/// <c>dL/dlogits = softmax(logits) - onehot(y)</c> (zero on ignored rows), so <c>dh = dlogits W</c> and
/// <c>dW += dlogits^T h</c>; backward only scales them by the incoming gradient. That costs the same matrix products
/// as the plain loss and keeps dh [tokens, hidden] (and dW when W is trainable) until backward.
/// </summary>
internal sealed class ChunkedCrossEntropyFunction : SingleTensorFunction<ChunkedCrossEntropyFunction>
{
    public override string Name => "ChunkedLinearCrossEntropy";

    /// <summary>
    /// vars: h [N, hidden], W [vocab, hidden] (a dense head: an autograd input, which may be trainable), then the
    /// <see cref="Targets"/>; or h and the targets alone, whose head is then frozen (no gradient, not an autograd input).
    /// </summary>
    public override Tensor forward(AutogradContext ctx, params object[] vars)
    {
        var h = (Tensor)vars[0];
        Tensor? w = vars.Length == 3 ? (Tensor)vars[1] : null;
        var targets = (Targets)vars[^1];
        bool needH = h.requires_grad, needW = w?.requires_grad ?? false;
        // Every row of gh is written once, by its chunk's product (beta 0), so it needs no zero fill; gw sums over chunks.
        Tensor? gh = needH ? torch.empty_like(h) : null;
        Tensor? gw = needW ? torch.zeros_like(w!) : null;
        Tensor loss = LinearCrossEntropy.ChunkLosses(h, targets.Head, targets.Labels, targets.ChunkSize, (chunk, rows, dlogits) =>
        {
            using Tensor d = dlogits.to_type(h.dtype);
            if (gh is not null)
            {
                using Tensor ghChunk = gh.narrow(0, chunk, rows);
                targets.Head.InputGradientInto(d, ghChunk);
            }
            if (gw is not null)
            {
                using Tensor hChunk = h.narrow(0, chunk, rows);
                gw.addmm_(d.t(), hChunk);
            }
        }, targets.Kernel);
        ctx.save_for_backward(new List<Tensor> { gh!, gw! });
        ctx.save_data("need", (needH, needW, vars.Length));
        return loss;
    }

    public override List<Tensor> backward(AutogradContext ctx, Tensor grad_output)
    {
        (bool needH, bool needW, int inputs) = ((bool, bool, int))ctx.get_data("need");
        using var scope = NewDisposeScope();
        // The gradients were computed in forward and are this node's own buffers: scaled in place, then handed back and
        // freed as soon as the engine has them (SavedTensors), instead of new tensors living to the end of the step.
        List<Tensor> saved = Fused.SavedTensors.Take(ctx);
        Tensor Scaled(Tensor gradient)
        {
            using Tensor g = grad_output.to_type(gradient.dtype);
            return Fused.SavedTensors.Return(gradient.mul_(g));
        }

        // One entry per argument passed to apply: h, (W,) the targets.
        var result = new List<Tensor> { needH ? Scaled(saved[0]) : null! };
        if (inputs == 3) result.Add(needW ? Scaled(saved[1]) : null!);
        result.Add(null!);
        Fused.SavedTensors.Release(grad_output);
        return result;
    }

    /// <summary>
    /// The labels [N] (int64, <c>-100</c> = ignored), the tokens per chunk, the head and whether float32 chunks may use
    /// <see cref="Fused.CrossEntropyKernel"/>: not autograd inputs.
    /// </summary>
    internal sealed record Targets(Tensor Labels, long ChunkSize, OutputHead Head, bool Kernel = true);
}

using System;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Models;

/// <summary>
/// Next-token cross-entropy from hidden states and an output weight, without the full logits: the labels are shifted
/// left with <see cref="TokenSequence.IgnoreIndex"/> (no narrowed copy of the logits or hidden states), and the head
/// and loss run in chunks of tokens (<see cref="ChunkedCrossEntropyFunction"/>).
/// </summary>
internal static class LinearCrossEntropy
{
    /// <summary>
    /// The chunk size used when none is set: about 2^25 logits (128 MiB in fp32) per chunk, at least 256 and at most
    /// 1,024 tokens. Chunks of 256 tokens at vocab 8,000 were measured twice as slow as the full logits (the product
    /// for the hidden-state gradient then has a small output and a long inner dimension), 1,024 faster than them.
    /// </summary>
    internal static int AutomaticChunkSize(long vocab) => (int)Math.Clamp((1L << 25) / Math.Max(1, vocab), 256, 1024);

    /// <summary>The value of a <c>LossChunkSize</c> option: null (automatic), 0 (full logits) or a positive number of tokens.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="value"/> is negative.</exception>
    internal static int? CheckedChunkSize(int? value) =>
        value is < 0 ? throw new ArgumentOutOfRangeException("LossChunkSize", value, "the loss chunk size must be null (automatic), 0 (full logits) or positive.") : value;

    /// <summary>
    /// Labels [batch, T] shifted one step left: position t holds the label of t + 1 and the last position is ignored,
    /// so that logits (or hidden states) at every position line up without being narrowed.
    /// </summary>
    internal static Tensor ShiftLeft(Tensor labels)
    {
        using var scope = torch.NewDisposeScope();
        long length = labels.shape[1];
        Tensor shifted = torch.full(labels.shape, TokenSequence.IgnoreIndex, ScalarType.Int64, labels.device);
        if (length > 1)
        {
            using Tensor source = labels.narrow(1, 1, length - 1);
            using Tensor target = shifted.narrow(1, 0, length - 1);
            target.copy_(source);
        }

        return shifted.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Summed next-token cross-entropy of <c>hidden W^T</c> against <paramref name="labels"/>: hidden [batch, T, hidden],
    /// weight [vocab, hidden], labels [batch, T] (unshifted). Exact gradients for hidden and weight when they need them.
    /// </summary>
    internal static Tensor SummedNextTokenLoss(Tensor hidden, Tensor weight, Tensor labels, long chunkSize) =>
        SummedNextTokenLoss(hidden, OutputHead.Dense(weight), labels, chunkSize);

    /// <summary>
    /// The same with any <see cref="OutputHead"/>: a dense weight, or a frozen (quantized) head read in blocks of rows,
    /// which gets no gradient.
    /// </summary>
    internal static Tensor SummedNextTokenLoss(Tensor hidden, OutputHead head, Tensor labels, long chunkSize, bool kernel = true)
    {
        using var scope = torch.NewDisposeScope();
        Tensor h = hidden.reshape(-1, hidden.shape[^1]);
        Tensor targets = ShiftLeft(labels).reshape(-1);
        var chunked = new ChunkedCrossEntropyFunction.Targets(targets, chunkSize, head, kernel);
        bool weightGrad = head.Weight?.requires_grad ?? false;
        Tensor loss = !torch.is_grad_enabled() || !(h.requires_grad || weightGrad)
            ? ChunkLosses(h, head, targets, chunkSize, null, kernel)
            : head.Weight is not null
                ? ChunkedCrossEntropyFunction.apply(h, head.Weight, chunked)
                : ChunkedCrossEntropyFunction.apply(h, chunked);
        return loss.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The summed loss over chunks of <paramref name="chunkSize"/> rows of h [N, hidden] (the last chunk may be
    /// shorter). When <paramref name="onGradient"/> is given it receives (first row, rows, dL/dlogits [rows, vocab]),
    /// computed in the logits' precision (at least float32) and valid only during the call. With <paramref name="kernel"/>
    /// (default) float32 chunks go through <see cref="Fused.CrossEntropyKernel"/> where it applies; false keeps libtorch's
    /// ops (the benchmark's before/after switch).
    /// </summary>
    internal static Tensor ChunkLosses(Tensor h, OutputHead head, Tensor labels, long chunkSize, Action<long, long, Tensor>? onGradient, bool kernel = true)
    {
        if (chunkSize < 1) throw new ArgumentOutOfRangeException(nameof(chunkSize), chunkSize, "the chunk size must be at least 1.");
        long n = h.shape[0];
        ScalarType lossType = h.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;
        Tensor total = torch.zeros(Array.Empty<long>(), lossType, h.device);
        for (long start = 0; start < n; start += chunkSize)
        {
            using var scope = torch.NewDisposeScope();
            long rows = Math.Min(chunkSize, n - start);
            Tensor y = labels.narrow(0, start, rows);
            Tensor logProbs;
            using (Tensor chunkLogits = head.Logits(h.narrow(0, start, rows)))
            using (Tensor logits = chunkLogits.AtLeastFloat32())
            {
                if (kernel && Fused.CrossEntropyKernel.Applies(logits))
                {
                    // One pass per row in C#: the loss, and the gradient written over the logits (Fused.CrossEntropyKernel).
                    total.add_(Fused.CrossEntropyKernel.Run(logits, y, onGradient is not null));
                    onGradient?.Invoke(start, rows, logits);
                    continue;
                }

                logProbs = logits.log_softmax(1); // libtorch's fused kernel: faster than logsumexp composed from ops
            }

            Tensor keep = y.ne(TokenSequence.IgnoreIndex);
            Tensor index = y.masked_fill(keep.logical_not(), 0).unsqueeze(1);
            Tensor ignored = keep.logical_not().unsqueeze(1);
            total.sub_(logProbs.gather(1, index).masked_fill_(ignored, 0).sum());
            if (onGradient is null) continue;
            Tensor dlogits = logProbs.exp_(); // softmax, in place of the log-probabilities
            dlogits.scatter_add_(1, index, torch.full(index.shape, -1.0, lossType, h.device));
            dlogits.masked_fill_(ignored, 0);
            onGradient(start, rows, dlogits);
        }

        return total;
    }
}

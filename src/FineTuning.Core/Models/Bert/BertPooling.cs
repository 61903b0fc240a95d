using System;
using static TorchSharp.torch;

namespace FineTuning.Models.Bert;

/// <summary>Sentence embeddings from token states, as sentence-transformers computes them.</summary>
public static class BertPooling
{
    /// <summary>The mean of the states of real (unmasked) tokens: [batch, seq, hidden] to [batch, hidden].</summary>
    /// <param name="lastHiddenState">Token states [batch, seq, hidden].</param>
    /// <param name="attentionMask">1 for real tokens, 0 for padding, [batch, seq].</param>
    public static Tensor Mean(Tensor lastHiddenState, Tensor attentionMask)
    {
        ArgumentNullException.ThrowIfNull(lastHiddenState);
        ArgumentNullException.ThrowIfNull(attentionMask);
        using var scope = NewDisposeScope();
        Tensor mask = attentionMask.to(lastHiddenState.dtype).unsqueeze(-1);
        Tensor summed = (lastHiddenState * mask).sum(1);
        // sentence-transformers clamps the count at 1e-9 so an all-padding row gives zeros, not NaN.
        Tensor counts = mask.sum(1).clamp_min(1e-9);
        return (summed / counts).MoveToOuterDisposeScope();
    }

    /// <summary>The state of the first ([CLS]) token: [batch, seq, hidden] to [batch, hidden].</summary>
    /// <param name="lastHiddenState">Token states [batch, seq, hidden].</param>
    public static Tensor Cls(Tensor lastHiddenState)
    {
        ArgumentNullException.ThrowIfNull(lastHiddenState);
        return lastHiddenState.select(1, 0);
    }

    /// <summary>Scales each row to unit L2 norm (all-MiniLM-L6-v2 applies this after mean pooling).</summary>
    /// <param name="embeddings">Sentence embeddings [batch, hidden].</param>
    public static Tensor L2Normalize(Tensor embeddings)
    {
        ArgumentNullException.ThrowIfNull(embeddings);
        return nn.functional.normalize(embeddings, p: 2, dim: -1);
    }
}

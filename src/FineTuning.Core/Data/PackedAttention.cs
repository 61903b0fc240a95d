using System;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Data;

/// <summary>The attention mask of packed rows.</summary>
public static class PackedAttention
{
    /// <summary>
    /// Block-diagonal causal mask [batch, 1, seq, seq], bool, true = attend: query i sees key j when j &lt;= i and both
    /// belong to the same sequence id. Padding (any id of its own) attends only to padding, so no row is fully masked.
    /// </summary>
    /// <param name="sequenceIds">[batch, seq] sequence id per token (int64).</param>
    /// <returns>The mask.</returns>
    public static Tensor BlockDiagonalCausalMask(Tensor sequenceIds)
    {
        ArgumentNullException.ThrowIfNull(sequenceIds);
        if (sequenceIds.dim() != 2) throw new ArgumentException($"sequence ids must be [batch, seq], got [{string.Join(", ", sequenceIds.shape)}].", nameof(sequenceIds));
        using var scope = torch.NewDisposeScope();
        long seq = sequenceIds.shape[1];
        Tensor same = sequenceIds.unsqueeze(2).eq(sequenceIds.unsqueeze(1));                             // [B, q, k]
        Tensor causal = torch.ones(seq, seq, dtype: ScalarType.Bool, device: sequenceIds.device).tril(); // k <= q
        return same.logical_and(causal).unsqueeze(1).MoveToOuterDisposeScope();
    }
}

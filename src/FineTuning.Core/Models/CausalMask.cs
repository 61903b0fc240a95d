using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Models;

/// <summary>Positions and attention masks shared by the decoder-only models (LLaMA family, GPT-2).</summary>
internal static class CausalMask
{
    /// <summary>
    /// Positions count real tokens only (HF's <c>cumsum(mask) - 1</c>), so a left-padded prompt gets the
    /// same positions as the unpadded one; without a mask they continue from the cache offset.
    /// </summary>
    internal static Tensor DefaultPositions(long batch, long seq, long past, Tensor? attentionMask, Device device)
    {
        if (attentionMask is null || attentionMask.dim() == 4)
        {
            // A 4-D mask (packed sequences) says nothing about positions: the caller passes position ids.
            return torch.arange(past, past + seq, dtype: ScalarType.Int64, device: device).unsqueeze(0).expand(batch, seq);
        }

        Tensor positions = attentionMask.to_type(ScalarType.Int64).cumsum(-1) - 1;
        return positions.clamp_min(0).narrow(-1, positions.shape[1] - seq, seq);
    }

    /// <summary>
    /// A bool mask [batch|1, 1, seq, past + seq], true = attend: causal with the query at absolute position
    /// past + i, padding keys masked out. Each position may always attend to itself, so rows of padding stay
    /// finite (a fully masked row would make softmax produce NaN, and 0 * NaN spreads through values).
    /// Null means plain causal attention without a cache, which scaled_dot_product_attention does natively.
    /// </summary>
    internal static Tensor? Build(long seq, long past, Tensor? attentionMask, Device device)
    {
        if (attentionMask is null && past == 0) return null;
        long total = past + seq;
        if (attentionMask is not null && attentionMask.dim() == 4) return Explicit(attentionMask, seq, total);
        if (attentionMask is not null && attentionMask.shape[1] != total)
        {
            throw new System.ArgumentException(
                $"attention mask covers {attentionMask.shape[1]} positions, but cache ({past}) plus input ({seq}) is {total}.",
                nameof(attentionMask));
        }

        Tensor queryPos = torch.arange(past, total, dtype: ScalarType.Int64, device: device).unsqueeze(1); // [seq, 1]
        Tensor keyPos = torch.arange(0, total, dtype: ScalarType.Int64, device: device).unsqueeze(0);       // [1, total]
        Tensor causal = keyPos.le(queryPos);
        if (attentionMask is null) return causal.unsqueeze(0).unsqueeze(0);
        Tensor keep = attentionMask.to_type(ScalarType.Bool).unsqueeze(1).unsqueeze(1); // [B, 1, 1, total]
        Tensor self = keyPos.eq(queryPos);
        return causal.unsqueeze(0).unsqueeze(0).logical_and(keep).logical_or(self);
    }

    /// <summary>A caller-built mask (e.g. block-diagonal causal for packed sequences), checked and used as given.</summary>
    private static Tensor Explicit(Tensor mask, long seq, long total)
    {
        if (mask.dtype != ScalarType.Bool || mask.shape[1] != 1 || mask.shape[2] != seq || mask.shape[3] != total)
        {
            throw new System.ArgumentException(
                $"a 4-D attention mask must be bool [batch|1, 1, {seq}, {total}] (true = attend), got {mask.dtype} [{string.Join(", ", mask.shape)}].",
                nameof(mask));
        }

        return mask;
    }
}

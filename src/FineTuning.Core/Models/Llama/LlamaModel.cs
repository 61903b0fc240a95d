using System.Linq;
using FineTuning.Generation;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuning.Models.Llama;

/// <summary>The decoder stack (HF <c>LlamaModel</c>): <c>embed_tokens</c>, <c>layers.{i}</c>, <c>norm</c>.</summary>
internal sealed class LlamaModel : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // field names are state-dict keys
    private readonly Embedding embed_tokens;
    private readonly ModuleList<LlamaDecoderLayer> layers;
    private readonly RmsNorm norm;
#pragma warning restore IDE1006
    private readonly LlamaConfig config;

    internal LlamaModel(LlamaConfig config, Device? device, ScalarType? dtype)
        : base(nameof(LlamaModel))
    {
        this.config = config;
        embed_tokens = nn.Embedding(config.VocabSize, config.HiddenSize, device: device, dtype: dtype);
        layers = nn.ModuleList(Enumerable.Range(0, config.NumHiddenLayers)
            .Select(i => new LlamaDecoderLayer(config, i, device, dtype)).ToArray());
        norm = new RmsNorm(config.HiddenSize, config.RmsNormEps, device, dtype);
        RegisterComponents();
    }

    internal Tensor EmbeddingWeight => embed_tokens.weight!;

    public override Tensor forward(Tensor input) => Forward(input, null, null, null);

    /// <summary>Final normalised hidden states [batch, seq, hidden].</summary>
    internal Tensor Forward(Tensor inputIds, Tensor? attentionMask, Tensor? positionIds, KVCache? cache)
    {
        using var scope = torch.NewDisposeScope();
        long seq = inputIds.shape[1];
        long past = cache?.Length ?? 0;
        Device device = inputIds.device;
        positionIds ??= DefaultPositions(inputIds.shape[0], seq, past, attentionMask, device);
        Tensor? mask = BuildMask(seq, past, attentionMask, device);

        Tensor h = embed_tokens.call(inputIds);
        (Tensor cos, Tensor sin) = RotaryEmbedding.Tables(positionIds, config.EffectiveHeadDim, config.RopeTheta, h.dtype);
        foreach (LlamaDecoderLayer layer in layers)
        {
            h = layer.Forward(h, cos, sin, mask, cache);
        }

        return norm.call(h).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Positions count real tokens only (HF's <c>cumsum(mask) - 1</c>), so a left-padded prompt gets the
    /// same positions as the unpadded one.
    /// </summary>
    private static Tensor DefaultPositions(long batch, long seq, long past, Tensor? attentionMask, Device device)
    {
        if (attentionMask is null || attentionMask.dim() == 4)
        {
            return torch.arange(past, past + seq, dtype: ScalarType.Int64, device: device).unsqueeze(0).expand(batch, seq);
        }

        Tensor positions = attentionMask.to_type(ScalarType.Int64).cumsum(-1) - 1;
        return positions.clamp_min(0).narrow(-1, positions.shape[1] - seq, seq);
    }

    /// <summary>A caller-built mask (e.g. block-diagonal causal for packed sequences), checked and used as given.</summary>
    private static Tensor ExplicitMask(Tensor mask, long seq, long total)
    {
        if (mask.dtype != ScalarType.Bool || mask.shape[1] != 1 || mask.shape[2] != seq || mask.shape[3] != total)
        {
            throw new System.ArgumentException(
                $"a 4-D attention mask must be bool [batch|1, 1, {seq}, {total}] (true = attend), got {mask.dtype} [{string.Join(", ", mask.shape)}].",
                nameof(mask));
        }

        return mask;
    }

    /// <summary>
    /// A bool mask [batch|1, 1, seq, past + seq], true = attend: causal with the query at absolute position
    /// past + i, padding keys masked out. Each position may always attend to itself, so rows of padding stay
    /// finite (a fully masked row would make softmax produce NaN, and 0 * NaN spreads through values).
    /// Null means plain causal attention without a cache, which scaled_dot_product_attention does natively.
    /// </summary>
    private static Tensor? BuildMask(long seq, long past, Tensor? attentionMask, Device device)
    {
        if (attentionMask is null && past == 0) return null;
        long total = past + seq;
        if (attentionMask is not null && attentionMask.dim() == 4) return ExplicitMask(attentionMask, seq, total);
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
}

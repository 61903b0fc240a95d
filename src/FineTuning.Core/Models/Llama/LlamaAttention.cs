using FineTuning.Generation;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Models.Llama;

/// <summary>
/// Multi-head self-attention with grouped-query key/value heads and rotary embeddings.
/// Children <c>q_proj</c>, <c>k_proj</c>, <c>v_proj</c>, <c>o_proj</c> are named as in Hugging Face so
/// checkpoints load by key and adapters can find and replace them by name.
/// </summary>
internal sealed class LlamaAttention : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // field names are state-dict keys
    // Not readonly and typed as the base module: an adapter may swap in a wrapper (TorchSharp's Linear is sealed).
    private nn.Module<Tensor, Tensor> q_proj;
    private nn.Module<Tensor, Tensor> k_proj;
    private nn.Module<Tensor, Tensor> v_proj;
    private nn.Module<Tensor, Tensor> o_proj;
#pragma warning restore IDE1006
    private readonly int heads;
    private readonly int kvHeads;
    private readonly int headDim;

    internal LlamaAttention(LlamaConfig config, Device? device, ScalarType? dtype)
        : base(nameof(LlamaAttention))
    {
        heads = config.NumAttentionHeads;
        kvHeads = config.EffectiveKeyValueHeads;
        headDim = config.EffectiveHeadDim;
        bool bias = config.AttentionBias;
        q_proj = nn.Linear(config.HiddenSize, heads * headDim, hasBias: bias, device: device, dtype: dtype);
        k_proj = nn.Linear(config.HiddenSize, kvHeads * headDim, hasBias: bias, device: device, dtype: dtype);
        v_proj = nn.Linear(config.HiddenSize, kvHeads * headDim, hasBias: bias, device: device, dtype: dtype);
        o_proj = nn.Linear(heads * headDim, config.HiddenSize, hasBias: bias && config.OutputProjectionBias, device: device, dtype: dtype);
        RegisterComponents();
    }

    /// <summary>Rotate float32 q and k with the C# kernel (the default) or with ordinary ops.</summary>
    internal bool Fused { get; set; } = true;

    public override Tensor forward(Tensor input) =>
        throw new System.NotSupportedException("LlamaAttention needs rotary tables; call it through LlamaForCausalLM.");

    /// <summary>Attention over <paramref name="x"/> [batch, seq, hidden]; <paramref name="mask"/> is a bool [batch|1, 1, seq, total] (true = attend) or null for plain causal.</summary>
    internal Tensor Forward(Tensor x, Tensor cos, Tensor sin, Tensor? mask, KVCache? cache, int layerIndex)
    {
        using var scope = torch.NewDisposeScope();
        long batch = x.shape[0];
        long seq = x.shape[1];
        Tensor q = q_proj.call(x).view(batch, seq, heads, headDim).transpose(1, 2);
        Tensor k = k_proj.call(x).view(batch, seq, kvHeads, headDim).transpose(1, 2);
        Tensor v = v_proj.call(x).view(batch, seq, kvHeads, headDim).transpose(1, 2);
        q = RotaryEmbedding.Apply(q, cos, sin, Fused);
        k = RotaryEmbedding.Apply(k, cos, sin, Fused);
        if (cache is not null)
        {
            (k, v) = cache.Append(layerIndex, k, v);
        }

        if (kvHeads != heads)
        {
            // Grouped-query attention: query head h reads key/value head h / (heads / kvHeads), as HF's repeat_kv.
            k = k.repeat_interleave(heads / kvHeads, dim: 1);
            v = v.repeat_interleave(heads / kvHeads, dim: 1);
        }

        Tensor attended = mask is null
            ? nn.functional.scaled_dot_product_attention(q, k, v, is_casual: seq > 1)
            : nn.functional.scaled_dot_product_attention(q, k, v, attn_mask: mask);
        Tensor merged = attended.transpose(1, 2).reshape(batch, seq, heads * headDim);
        return o_proj.call(merged).MoveToOuterDisposeScope();
    }
}

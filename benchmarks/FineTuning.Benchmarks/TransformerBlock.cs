using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuning.Benchmarks;

/// <summary>
/// A pre-norm transformer block in plain TorchSharp (x + attn(ln(x)), then x + mlp(ln(x))): the
/// composition our trainer will run, kept free of library code so it can serve as a baseline.
/// Field names follow the Hugging Face LLaMA/GPT layout only for readability.
/// </summary>
internal sealed class TransformerBlock : nn.Module<Tensor, Tensor>
{
    private readonly int _heads;
    private readonly LayerNorm input_layernorm;
    private readonly Linear qkv_proj;
    private readonly Linear o_proj;
    private readonly LayerNorm post_attention_layernorm;
    private readonly Linear up_proj;
    private readonly Linear down_proj;

    public TransformerBlock(int hidden, int heads) : base(nameof(TransformerBlock))
    {
        _heads = heads;
        input_layernorm = nn.LayerNorm(hidden);
        // One fused projection for Q, K and V: one matmul instead of three, as most trainers do.
        qkv_proj = nn.Linear(hidden, 3 * hidden, hasBias: false);
        o_proj = nn.Linear(hidden, hidden, hasBias: false);
        post_attention_layernorm = nn.LayerNorm(hidden);
        up_proj = nn.Linear(hidden, 4 * hidden);
        down_proj = nn.Linear(4 * hidden, hidden);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        var (batch, seq, hidden) = (input.shape[0], input.shape[1], input.shape[2]);
        var headDim = hidden / _heads;

        // [batch, seq, 3, heads, headDim] -> three [batch, heads, seq, headDim] views.
        var qkv = qkv_proj.forward(input_layernorm.forward(input))
            .view(batch, seq, 3, _heads, headDim)
            .permute(2, 0, 3, 1, 4);
        // SDPA picks libtorch's fused CPU kernel (about 4x faster than composing it by hand in fp32).
        // TorchSharp spells the causal flag `is_casual`.
        var attention = nn.functional.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], is_casual: true)
            .transpose(1, 2)
            .reshape(batch, seq, hidden);
        var x = input + o_proj.forward(attention);

        var mlp = down_proj.forward(nn.functional.gelu(up_proj.forward(post_attention_layernorm.forward(x))));
        return x + mlp;
    }
}

using System;
using FineTuning.Generation;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuning.Models.Gpt2;

#pragma warning disable IDE1006 // field names are Hugging Face state-dict keys

/// <summary>
/// Causal self-attention (HF <c>GPT2Attention</c>). HF stores <c>c_attn</c> and <c>c_proj</c> as <c>Conv1D</c>
/// with weights [in, out]; here they are ordinary <c>Linear</c> modules ([out, in]) under the same names, so LoRA
/// can wrap them, and the checkpoint code transposes those weights on load and save.
/// </summary>
internal sealed class Gpt2Attention : nn.Module<Tensor, Tensor>
{
    // Not readonly and typed as the base module: an adapter may swap in a wrapper (TorchSharp's Linear is sealed).
    private nn.Module<Tensor, Tensor> c_attn;
    private nn.Module<Tensor, Tensor> c_proj;
    private readonly Dropout resid_dropout;
    private readonly int heads;
    private readonly int width;
    private readonly double attentionDropout;

    internal Gpt2Attention(Gpt2Config config, Device? device, ScalarType? dtype)
        : base(nameof(Gpt2Attention))
    {
        heads = config.NHead;
        width = config.NEmbd;
        attentionDropout = config.AttnPdrop;
        c_attn = nn.Linear(width, 3 * width, hasBias: true, device: device, dtype: dtype);
        c_proj = nn.Linear(width, width, hasBias: true, device: device, dtype: dtype);
        resid_dropout = nn.Dropout(config.ResidPdrop);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input) => Forward(input, null, null, 0);

    /// <summary><paramref name="x"/> [batch, seq, n_embd]; <paramref name="mask"/> bool [batch|1, 1, seq, total] (true = attend) or null for plain causal.</summary>
    internal Tensor Forward(Tensor x, Tensor? mask, KVCache? cache, int layerIndex)
    {
        using var scope = torch.NewDisposeScope();
        long batch = x.shape[0];
        long seq = x.shape[1];
        long headDim = width / heads;
        Tensor[] qkv = c_attn.call(x).split(width, 2);
        Tensor q = qkv[0].view(batch, seq, heads, headDim).transpose(1, 2);
        Tensor k = qkv[1].view(batch, seq, heads, headDim).transpose(1, 2);
        Tensor v = qkv[2].view(batch, seq, heads, headDim).transpose(1, 2);
        if (cache is not null)
        {
            (k, v) = cache.Append(layerIndex, k, v);
        }

        double p = training ? attentionDropout : 0.0;
        Tensor attended = mask is null
            ? nn.functional.scaled_dot_product_attention(q, k, v, p: p, is_casual: seq > 1)
            : nn.functional.scaled_dot_product_attention(q, k, v, attn_mask: mask, p: p);
        Tensor merged = attended.transpose(1, 2).reshape(batch, seq, width);
        return resid_dropout.call(c_proj.call(merged)).MoveToOuterDisposeScope();
    }
}

/// <summary>The feed-forward block (HF <c>GPT2MLP</c>): <c>c_proj(gelu_new(c_fc(x)))</c>; Conv1D weights as in <see cref="Gpt2Attention"/>.</summary>
internal sealed class Gpt2Mlp : nn.Module<Tensor, Tensor>
{
    private nn.Module<Tensor, Tensor> c_fc;
    private nn.Module<Tensor, Tensor> c_proj;
    private readonly Dropout dropout;

    internal Gpt2Mlp(Gpt2Config config, Device? device, ScalarType? dtype)
        : base(nameof(Gpt2Mlp))
    {
        c_fc = nn.Linear(config.NEmbd, config.EffectiveInner, hasBias: true, device: device, dtype: dtype);
        c_proj = nn.Linear(config.EffectiveInner, config.NEmbd, hasBias: true, device: device, dtype: dtype);
        dropout = nn.Dropout(config.ResidPdrop);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = torch.NewDisposeScope();
        return dropout.call(c_proj.call(GeluNew(c_fc.call(input)))).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// HF's <c>NewGELUActivation</c> (Hendrycks and Gimpel 2016, https://arxiv.org/abs/1606.08415), the tanh
    /// approximation GPT-2 was trained with: <c>0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))</c>.
    /// </summary>
    internal static Tensor GeluNew(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        Tensor inner = (x + (x.pow(3) * 0.044715)) * Math.Sqrt(2.0 / Math.PI);
        return (x * 0.5 * (inner.tanh() + 1.0)).MoveToOuterDisposeScope();
    }
}

/// <summary>One pre-norm block (HF <c>GPT2Block</c>): <c>x + attn(ln_1(x))</c>, then <c>x + mlp(ln_2(x))</c>.</summary>
internal sealed class Gpt2Block : nn.Module<Tensor, Tensor>
{
    private readonly LayerNorm ln_1;
    private readonly Gpt2Attention attn;
    private readonly LayerNorm ln_2;
    private readonly Gpt2Mlp mlp;
    private readonly int index;

    internal Gpt2Block(Gpt2Config config, int index, Device? device, ScalarType? dtype)
        : base(nameof(Gpt2Block))
    {
        this.index = index;
        ln_1 = nn.LayerNorm(config.NEmbd, config.LayerNormEpsilon, device: device, dtype: dtype);
        attn = new Gpt2Attention(config, device, dtype);
        ln_2 = nn.LayerNorm(config.NEmbd, config.LayerNormEpsilon, device: device, dtype: dtype);
        mlp = new Gpt2Mlp(config, device, dtype);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input) => Forward(input, null, null);

    internal Tensor Forward(Tensor x, Tensor? mask, KVCache? cache)
    {
        using var scope = torch.NewDisposeScope();
        Tensor h = x + attn.Forward(ln_1.call(x), mask, cache, index);
        return (h + mlp.call(ln_2.call(h))).MoveToOuterDisposeScope();
    }
}
#pragma warning restore IDE1006

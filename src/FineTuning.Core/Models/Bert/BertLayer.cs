using System;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuning.Models.Bert;

#pragma warning disable IDE1006 // Field names are Hugging Face state-dict keys (query, key, value, dense, LayerNorm).

/// <summary>
/// Multi-head self-attention (HF <c>BertSelfAttention</c>). The projections are typed as plain modules so an
/// adapter (LoRA) can replace <c>query</c>, <c>key</c>, <c>value</c> by wrapping the Linear it finds there.
/// </summary>
internal sealed class BertSelfAttention : nn.Module<Tensor, Tensor, Tensor>
{
    private nn.Module<Tensor, Tensor> query;
    private nn.Module<Tensor, Tensor> key;
    private nn.Module<Tensor, Tensor> value;
    private readonly int _heads;
    private readonly double _dropout;

    internal BertSelfAttention(BertConfig config)
        : base(nameof(BertSelfAttention))
    {
        query = nn.Linear(config.HiddenSize, config.HiddenSize);
        key = nn.Linear(config.HiddenSize, config.HiddenSize);
        value = nn.Linear(config.HiddenSize, config.HiddenSize);
        _heads = config.NumAttentionHeads;
        _dropout = config.AttentionProbsDropoutProb;
        RegisterComponents();
    }

    /// <summary><paramref name="hidden"/> [batch, seq, hidden]; <paramref name="attend"/> bool [batch, 1, 1, seq], true = attend.</summary>
    public override Tensor forward(Tensor hidden, Tensor attend)
    {
        using var scope = NewDisposeScope();
        long batch = hidden.shape[0], length = hidden.shape[1], width = hidden.shape[2];
        Tensor q = query.forward(hidden).view(batch, length, _heads, -1).transpose(1, 2);
        Tensor k = key.forward(hidden).view(batch, length, _heads, -1).transpose(1, 2);
        Tensor v = value.forward(hidden).view(batch, length, _heads, -1).transpose(1, 2);
        Tensor context = nn.functional.scaled_dot_product_attention(q, k, v, attend, training ? _dropout : 0.0);
        return context.transpose(1, 2).reshape(batch, length, width).MoveToOuterDisposeScope();
    }
}

/// <summary>Dense + dropout + residual + LayerNorm after attention or feed-forward (HF <c>BertSelfOutput</c> / <c>BertOutput</c>).</summary>
internal sealed class BertResidualOutput : nn.Module<Tensor, Tensor, Tensor>
{
    private nn.Module<Tensor, Tensor> dense;
    private readonly LayerNorm LayerNorm;
    private readonly Dropout dropout;

    internal BertResidualOutput(BertConfig config, int inputSize)
        : base(nameof(BertResidualOutput))
    {
        dense = nn.Linear(inputSize, config.HiddenSize);
        LayerNorm = nn.LayerNorm(config.HiddenSize, config.LayerNormEps);
        dropout = nn.Dropout(config.HiddenDropoutProb);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden, Tensor residual)
    {
        using var scope = NewDisposeScope();
        return LayerNorm.forward(dropout.forward(dense.forward(hidden)) + residual).MoveToOuterDisposeScope();
    }
}

/// <summary>Self-attention and its output block (HF <c>BertAttention</c>: keys <c>self.*</c> and <c>output.*</c>).</summary>
internal sealed class BertAttention : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly BertSelfAttention self;
    private readonly BertResidualOutput output;

    internal BertAttention(BertConfig config)
        : base(nameof(BertAttention))
    {
        self = new BertSelfAttention(config);
        output = new BertResidualOutput(config, config.HiddenSize);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden, Tensor attend)
    {
        using Tensor context = self.forward(hidden, attend);
        return output.forward(context, hidden);
    }
}

/// <summary>The feed-forward expansion with exact (erf) GELU (HF <c>BertIntermediate</c>).</summary>
internal sealed class BertIntermediate : nn.Module<Tensor, Tensor>
{
    private nn.Module<Tensor, Tensor> dense;

    internal BertIntermediate(BertConfig config)
        : base(nameof(BertIntermediate))
    {
        dense = nn.Linear(config.HiddenSize, config.IntermediateSize);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden)
    {
        using Tensor projected = dense.forward(hidden);
        return nn.functional.gelu(projected);
    }
}

/// <summary>One transformer layer (HF <c>BertLayer</c>: keys <c>attention.*</c>, <c>intermediate.*</c>, <c>output.*</c>).</summary>
internal sealed class BertLayer : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly BertAttention attention;
    private readonly BertIntermediate intermediate;
    private readonly BertResidualOutput output;

    internal BertLayer(BertConfig config)
        : base(nameof(BertLayer))
    {
        ArgumentNullException.ThrowIfNull(config);
        attention = new BertAttention(config);
        intermediate = new BertIntermediate(config);
        output = new BertResidualOutput(config, config.IntermediateSize);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden, Tensor attend)
    {
        using Tensor attended = attention.forward(hidden, attend);
        using Tensor expanded = intermediate.forward(attended);
        return output.forward(expanded, attended);
    }
}
#pragma warning restore IDE1006

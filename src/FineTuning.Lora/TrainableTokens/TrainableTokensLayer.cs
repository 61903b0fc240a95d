using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuning.Lora.TrainableTokens;

/// <summary>
/// PEFT's <c>TrainableTokensLayer</c>: a frozen embedding (or output linear layer) whose chosen rows are replaced by
/// trainable values. As in PEFT, <c>trainable_tokens_delta</c> holds the new rows themselves (initialised to copies of
/// the base rows, so the model starts unchanged), and the forward pass uses
/// <c>W.index_copy(0, token_indices, trainable_tokens_delta)</c>: every other row stays the base's.
/// State-dict keys: <c>base_layer.weight</c>, <c>trainable_tokens_delta.{adapter}</c>.
/// </summary>
public sealed class TrainableTokensLayer : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006, SA1300 // field names are state-dict keys (PEFT's)
    private readonly nn.Module<Tensor, Tensor> base_layer;
    private readonly TokenRows trainable_tokens_delta;
#pragma warning restore IDE1006, SA1300
    private readonly long[] _indices;

    internal TrainableTokensLayer(nn.Module<Tensor, Tensor> baseLayer, IReadOnlyList<int> tokenIndices, string adapterName)
        : base(nameof(TrainableTokensLayer))
    {
        ArgumentNullException.ThrowIfNull(baseLayer);
        ArgumentNullException.ThrowIfNull(tokenIndices);
        if (baseLayer is not (Embedding or Linear)) throw new ArgumentException($"Trainable tokens wrap an Embedding or a Linear layer, not a {baseLayer.GetType().Name}.", nameof(baseLayer));
        base_layer = baseLayer;
        _indices = tokenIndices.Select(i => (long)i).ToArray();
        AdapterName = adapterName;
        foreach (Parameter p in base_layer.parameters()) p.requires_grad = false;
        using (torch.no_grad())
        using (var scope = torch.NewDisposeScope())
        {
            Tensor weight = BaseWeight();
            using Tensor index = torch.tensor(_indices, device: weight.device);
            Tensor rows = weight.index_select(0, index).clone().DetachFromDisposeScope();
            trainable_tokens_delta = new TokenRows(adapterName, rows);
        }

        RegisterComponents();
    }

    /// <summary>The wrapped embedding or linear layer (frozen).</summary>
    public nn.Module<Tensor, Tensor> BaseLayer => base_layer;

    /// <summary>The token ids (rows) that are trained, in the order of <see cref="Rows"/>.</summary>
    public IReadOnlyList<int> TokenIndices => _indices.Select(i => (int)i).ToArray();

    /// <summary>The adapter name (PEFT's key suffix of <c>trainable_tokens_delta</c>).</summary>
    public string AdapterName { get; }

    /// <summary>The trained rows [tokens, dim] (PEFT's <c>trainable_tokens_delta</c>: values, not differences).</summary>
    public Parameter Rows => trainable_tokens_delta.Value;

    /// <summary>True while the base layer is used unchanged (see <see cref="LoRA.DisableAdapters"/>).</summary>
    internal bool Disabled { get; set; }

    /// <summary>The base weight with the trained rows written in (a new tensor; gradients flow to <see cref="Rows"/>).</summary>
    /// <returns>The weight [vocab, dim] (an embedding) or [out, in] (a linear layer).</returns>
    public Tensor EffectiveWeight()
    {
        Tensor weight = BaseWeight();
        if (Disabled) return weight;
        using Tensor index = torch.tensor(_indices, device: weight.device);
        return weight.index_copy(0, index, Rows);
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        if (Disabled) return base_layer.call(input);
        using var scope = torch.NewDisposeScope();
        Tensor weight = EffectiveWeight();
        Tensor result = base_layer is Linear linear
            ? nn.functional.linear(input, weight, linear.bias)
            : weight.index_select(0, input.reshape(-1)).reshape(input.shape.Append(weight.shape[1]).ToArray());
        return result.MoveToOuterDisposeScope();
    }

    private Tensor BaseWeight() => base_layer switch
    {
        Embedding e => e.weight!,
        Linear l => l.weight!,
        _ => throw new InvalidOperationException("unreachable: checked in the constructor"),
    };

    /// <summary>One parameter registered under the adapter's name (key <c>trainable_tokens_delta.{adapter}</c>).</summary>
    private sealed class TokenRows : nn.Module
    {
        internal TokenRows(string adapterName, Tensor rows)
            : base(nameof(TokenRows))
        {
            Value = new Parameter(rows, requires_grad: true);
            register_parameter(adapterName, Value);
        }

        internal Parameter Value { get; }
    }
}

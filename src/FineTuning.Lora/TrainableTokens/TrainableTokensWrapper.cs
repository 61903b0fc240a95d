using System;
using System.Collections.Generic;
using FineTuning.Adapters;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Lora.TrainableTokens;

/// <summary>
/// PEFT's <c>TrainableTokensWrapper</c>: stands where the embedding (or output head) was and runs its
/// <c>token_adapter</c> (<see cref="TrainableTokensLayer"/>), which gives the saved key
/// <c>&lt;module&gt;.token_adapter.trainable_tokens_delta</c>. A tied output head reads the adapted weight through
/// <see cref="IEmbeddingWrapper.EffectiveWeight"/>, so the trained rows act on the input and the output side, as
/// PEFT's tied adapter does.
/// </summary>
public sealed class TrainableTokensWrapper : nn.Module<Tensor, Tensor>, IEmbeddingWrapper
{
#pragma warning disable IDE1006, SA1300 // field names are state-dict keys (PEFT's)
    private readonly TrainableTokensLayer token_adapter;
#pragma warning restore IDE1006, SA1300

    internal TrainableTokensWrapper(nn.Module<Tensor, Tensor> baseLayer, IReadOnlyList<int> tokenIndices, string adapterName)
        : base(nameof(TrainableTokensWrapper))
    {
        token_adapter = new TrainableTokensLayer(baseLayer, tokenIndices, adapterName);
        RegisterComponents();
    }

    /// <summary>The layer holding the trained rows.</summary>
    public TrainableTokensLayer TokenAdapter => token_adapter;

    /// <inheritdoc />
    public nn.Module BaseLayer => token_adapter.BaseLayer;

    /// <inheritdoc />
    public Tensor EffectiveWeight() => token_adapter.EffectiveWeight();

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return token_adapter.call(input);
    }
}

using System;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuning.Adapters;

/// <summary>The weight a tied output head multiplies by: the embedding's own, or its wrapper's adapted one.</summary>
internal static class EmbeddingWeights
{
    internal static Tensor Of(nn.Module embedding) => embedding switch
    {
        Embedding e => e.weight!,
        IEmbeddingWrapper w => w.EffectiveWeight(),
        _ => throw new InvalidOperationException($"The token embedding is a {embedding.GetType().Name}, neither an Embedding nor an {nameof(IEmbeddingWrapper)}."),
    };
}

using System;
using static TorchSharp.torch;

namespace FineTuning.Generation;

/// <summary>The argument checks every <see cref="ICausalLanguageModel.Forward"/> makes, in one place.</summary>
internal static class CausalLMInputs
{
    /// <exception cref="ArgumentNullException"><paramref name="inputIds"/> is null.</exception>
    /// <exception cref="ArgumentException">The ids are not [batch, seq], or the cache has another number of layers.</exception>
    public static void Check(Tensor inputIds, KVCache? cache, int layers)
    {
        ArgumentNullException.ThrowIfNull(inputIds);
        if (inputIds.dim() != 2) throw new ArgumentException($"input ids must be [batch, seq], got [{string.Join(", ", inputIds.shape)}].", nameof(inputIds));
        if (cache is not null && cache.LayerCount != layers)
            throw new ArgumentException($"the cache has {cache.LayerCount} layers, the model {layers}.", nameof(cache));
    }
}

using System;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Generation;

/// <summary>
/// Keys and values of every attention layer for the tokens already processed, so that each generated
/// token costs one position of attention instead of the whole sequence. Owns its tensors (they live
/// outside any dispose scope) and frees them on <see cref="Dispose"/>.
/// </summary>
public sealed class KVCache : IDisposable
{
    private readonly Tensor?[] keys;
    private readonly Tensor?[] values;
    private bool disposed;

    /// <summary>Creates an empty cache for a model with <paramref name="layerCount"/> attention layers.</summary>
    /// <param name="layerCount">Number of attention layers.</param>
    public KVCache(int layerCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(layerCount);
        keys = new Tensor?[layerCount];
        values = new Tensor?[layerCount];
    }

    /// <summary>Number of attention layers.</summary>
    public int LayerCount => keys.Length;

    /// <summary>Number of positions already cached (the offset of the next token).</summary>
    public long Length
    {
        get
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            return keys[0] is { } k ? k.shape[2] : 0;
        }
    }

    /// <summary>
    /// Appends <paramref name="key"/> and <paramref name="value"/> [batch, kvHeads, newTokens, headDim] of
    /// <paramref name="layer"/> and returns the keys and values of all positions so far. The returned
    /// tensors belong to the cache: do not dispose them.
    /// </summary>
    internal (Tensor Key, Tensor Value) Append(int layer, Tensor key, Tensor value)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        keys[layer] = Concat(keys[layer], key);
        values[layer] = Concat(values[layer], value);
        return (keys[layer]!, values[layer]!);
    }

    /// <summary>Frees every cached tensor.</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        for (int i = 0; i < keys.Length; i++)
        {
            keys[i]?.Dispose();
            values[i]?.Dispose();
            keys[i] = null;
            values[i] = null;
        }
    }

    private static Tensor Concat(Tensor? old, Tensor added)
    {
        // The cache outlives the caller's per-token dispose scope; it keeps its own copies.
        Tensor result = old is null ? added.detach().clone() : torch.cat(new[] { old, added.detach() }, 2);
        old?.Dispose();
        return result.DetachFromDisposeScope();
    }
}

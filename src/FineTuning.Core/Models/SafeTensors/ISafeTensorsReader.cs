using System;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using static TorchSharp.torch;

namespace FineTuning.Models.SafeTensors;

/// <summary>
/// Read access to the tensors of a safetensors checkpoint, one file (<see cref="SafeTensorsReader"/>) or
/// sharded (<see cref="ShardedSafeTensorsReader"/>). Listing reads headers only; loading reads one tensor's bytes.
/// </summary>
public interface ISafeTensorsReader : IDisposable
{
    /// <summary>Every tensor, in ordinal name order.</summary>
    IReadOnlyList<SafeTensorInfo> Tensors { get; }

    /// <summary>The checkpoint's string metadata (a file's <c>__metadata__</c>, or an index's <c>metadata</c>).</summary>
    IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Finds the entry of tensor <paramref name="name"/>.</summary>
    /// <param name="name">The tensor name.</param>
    /// <param name="info">The entry, or null when there is no such tensor.</param>
    /// <returns>Whether the tensor exists.</returns>
    bool TryGetInfo(string name, [NotNullWhen(true)] out SafeTensorInfo? info);

    /// <summary>
    /// Loads tensor <paramref name="name"/> into a new CPU tensor of its dtype and shape, reading only its bytes.
    /// The caller owns (disposes) the result; it joins the current dispose scope, if any.
    /// </summary>
    /// <param name="name">The tensor name.</param>
    /// <returns>The tensor.</returns>
    /// <exception cref="KeyNotFoundException">There is no tensor <paramref name="name"/>.</exception>
    /// <exception cref="SafeTensorsFormatException">The data is truncated or invalid.</exception>
    Tensor Load(string name);

    /// <summary>Loads every tensor; on failure the tensors already loaded are disposed.</summary>
    /// <returns>A new dictionary from name to tensor, owned by the caller.</returns>
    /// <exception cref="SafeTensorsFormatException">The data is truncated or invalid.</exception>
    Dictionary<string, Tensor> LoadAll();
}

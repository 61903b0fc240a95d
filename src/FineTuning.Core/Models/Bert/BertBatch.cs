using System;
using System.Collections.Generic;
using System.Linq;
using static TorchSharp.torch;

namespace FineTuning.Models.Bert;

/// <summary>
/// Encodings padded to a common length: the three int64 [batch, seq] tensors <see cref="BertModel"/> takes.
/// Holds no tensors itself; each method creates a new tensor the caller owns.
/// </summary>
public sealed class BertBatch
{
    private readonly long[] _ids;
    private readonly long[] _mask;
    private readonly long[] _types;

    /// <summary>Pads <paramref name="encodings"/> on the right with <paramref name="padId"/>.</summary>
    /// <param name="encodings">At least one encoding.</param>
    /// <param name="padId">The [PAD] token id.</param>
    public BertBatch(IReadOnlyList<BertEncoding> encodings, int padId)
    {
        ArgumentNullException.ThrowIfNull(encodings);
        if (encodings.Count == 0) throw new ArgumentException("A batch needs at least one encoding.", nameof(encodings));
        Encodings = encodings;
        SequenceLength = encodings.Max(e => e.Length);
        (_ids, _mask, _types) = Pad(encodings.Select(e => e.InputIds).ToArray(), encodings.Select(e => e.TokenTypeIds).ToArray(), SequenceLength, padId);
    }

    /// <summary>The unpadded encodings.</summary>
    public IReadOnlyList<BertEncoding> Encodings { get; }

    /// <summary>Number of sequences.</summary>
    public int Count => Encodings.Count;

    /// <summary>The padded length.</summary>
    public int SequenceLength { get; }

    /// <summary>Token ids, padded, int64 [batch, seq].</summary>
    /// <param name="device">Where to create the tensor (CPU when null).</param>
    public Tensor InputIds(Device? device = null) => tensor(_ids, Count, SequenceLength, device: device);

    /// <summary>1 for tokens, 0 for padding, int64 [batch, seq].</summary>
    /// <param name="device">Where to create the tensor (CPU when null).</param>
    public Tensor AttentionMask(Device? device = null) => tensor(_mask, Count, SequenceLength, device: device);

    /// <summary>Segment ids, padded with 0, int64 [batch, seq].</summary>
    /// <param name="device">Where to create the tensor (CPU when null).</param>
    public Tensor TokenTypeIds(Device? device = null) => tensor(_types, Count, SequenceLength, device: device);

    /// <summary>Row-major padded ids, mask and token types for <paramref name="ids"/>.</summary>
    internal static (long[] Ids, long[] Mask, long[] Types) Pad(IReadOnlyList<IReadOnlyList<int>> ids, IReadOnlyList<IReadOnlyList<int>>? types, int length, int padId)
    {
        var flatIds = new long[ids.Count * length];
        var mask = new long[flatIds.Length];
        var flatTypes = new long[flatIds.Length];
        Array.Fill(flatIds, padId);
        for (int row = 0; row < ids.Count; row++)
        {
            for (int i = 0; i < ids[row].Count; i++)
            {
                flatIds[(row * length) + i] = ids[row][i];
                mask[(row * length) + i] = 1;
                if (types is not null) flatTypes[(row * length) + i] = types[row][i];
            }
        }
        return (flatIds, mask, flatTypes);
    }
}

using System;
using System.Collections.Generic;
using FineTuning.Models;

namespace FineTuning.Data;

/// <summary>
/// Several examples concatenated into one row. Each example keeps its own positions (0, 1, ...) and a
/// sequence id (1, 2, ...): attention stays inside an example (block-diagonal causal mask) and the first token
/// of every example is unlabelled, so the row's loss equals the sum of its examples' losses.
/// </summary>
public sealed class PackedSequence
{
    internal PackedSequence(long[] inputIds, long[] labels, long[] positionIds, long[] sequenceIds, int examples)
    {
        InputIds = inputIds;
        Labels = labels;
        PositionIds = positionIds;
        SequenceIds = sequenceIds;
        ExampleCount = examples;
        int count = 0;
        for (int i = 1; i < labels.Length; i++)
        {
            if (labels[i] != TokenSequence.IgnoreIndex) count++;
        }

        TargetCount = count;
    }

    /// <summary>Token ids of all examples, in order.</summary>
    public IReadOnlyList<long> InputIds { get; }

    /// <summary>Labels; -100 at each example's first token (it has no predecessor inside its example) and where the example ignores it.</summary>
    public IReadOnlyList<long> Labels { get; }

    /// <summary>Position of each token inside its own example (restarts at 0).</summary>
    public IReadOnlyList<long> PositionIds { get; }

    /// <summary>Which example (1-based) each token belongs to.</summary>
    public IReadOnlyList<long> SequenceIds { get; }

    /// <summary>Number of examples in the row.</summary>
    public int ExampleCount { get; }

    /// <summary>Number of positions that contribute to the loss (equals the sum of the examples' <see cref="TokenSequence.TargetCount"/>).</summary>
    public int TargetCount { get; }

    /// <summary>Length of the row.</summary>
    public int Length => InputIds.Count;

    internal static PackedSequence Of(IReadOnlyList<TokenSequence> examples)
    {
        ArgumentNullException.ThrowIfNull(examples);
        var ids = new List<long>();
        var labels = new List<long>();
        var positions = new List<long>();
        var sequences = new List<long>();
        for (int e = 0; e < examples.Count; e++)
        {
            TokenSequence s = examples[e];
            for (int t = 0; t < s.InputIds.Count; t++)
            {
                ids.Add(s.InputIds[t]);
                labels.Add(t == 0 ? TokenSequence.IgnoreIndex : s.Labels[t]);
                positions.Add(t);
                sequences.Add(e + 1);
            }
        }

        return new PackedSequence(ids.ToArray(), labels.ToArray(), positions.ToArray(), sequences.ToArray(), examples.Count);
    }
}

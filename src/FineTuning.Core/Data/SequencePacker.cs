using System;
using System.Collections.Generic;
using System.Linq;
using FineTuning.Models;

namespace FineTuning.Data;

/// <summary>Packs short examples into rows of at most a given length (first fit, in input order: deterministic).</summary>
public static class SequencePacker
{
    /// <summary>Packs <paramref name="sequences"/> into rows of at most <paramref name="maxLength"/> tokens.</summary>
    /// <param name="sequences">Labelled examples, each at most <paramref name="maxLength"/> long (truncate or drop longer ones first, see <see cref="ChatLabeler"/>).</param>
    /// <param name="maxLength">Row length limit.</param>
    /// <returns>The rows; every example appears in exactly one row, whole.</returns>
    /// <exception cref="ArgumentException">An example is longer than <paramref name="maxLength"/>.</exception>
    public static IReadOnlyList<PackedSequence> Pack(IEnumerable<TokenSequence> sequences, int maxLength)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, 1);
        var bins = new List<List<TokenSequence>>();
        var free = new List<int>();
        int index = 0;
        foreach (TokenSequence s in sequences)
        {
            int n = s.InputIds.Count;
            if (n > maxLength) throw new ArgumentException($"example {index} has {n} tokens, more than the row length {maxLength}; truncate or drop it first.", nameof(sequences));
            int bin = free.FindIndex(f => f >= n);
            if (bin < 0)
            {
                bins.Add(new List<TokenSequence>());
                free.Add(maxLength);
                bin = bins.Count - 1;
            }

            bins[bin].Add(s);
            free[bin] -= n;
            index++;
        }

        return bins.Select(PackedSequence.Of).ToList();
    }
}

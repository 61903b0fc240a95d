using System;
using System.Collections.Generic;
using System.Linq;

namespace FineTuning.Data;

/// <summary>Deterministic splitting and mixing of example lists (own <see cref="Random"/> per call, seeded; no global state).</summary>
public static class Datasets
{
    /// <summary>
    /// Holds out <c>round(validationFraction * count)</c> examples chosen by a seeded shuffle; both parts keep the
    /// original order. The same items, fraction and seed always give the same split.
    /// </summary>
    /// <typeparam name="T">Example type.</typeparam>
    /// <param name="items">The examples.</param>
    /// <param name="validationFraction">Share held out, in [0, 1).</param>
    /// <param name="seed">Seed of the shuffle.</param>
    /// <returns>The split.</returns>
    public static DatasetSplit<T> Split<T>(IReadOnlyList<T> items, double validationFraction, int seed)
    {
        ArgumentNullException.ThrowIfNull(items);
        if (!(validationFraction >= 0 && validationFraction < 1)) throw new ArgumentOutOfRangeException(nameof(validationFraction), validationFraction, "must be in [0, 1).");
        int held = (int)Math.Round(validationFraction * items.Count, MidpointRounding.AwayFromZero);
        int[] order = Shuffled(items.Count, new Random(seed));
        var validation = new HashSet<int>(order.Take(held));
        var train = new List<T>(items.Count - held);
        var valid = new List<T>(held);
        for (int i = 0; i < items.Count; i++) (validation.Contains(i) ? valid : train).Add(items[i]);
        return new DatasetSplit<T>(train, valid);
    }

    /// <summary>
    /// Mixes replayed examples (e.g. general text, against forgetting) into <paramref name="primary"/> so that they make
    /// up <paramref name="replayFraction"/> of the result: <c>round(f / (1 - f) * primary.Count)</c> replay examples drawn
    /// by a seeded shuffle (cycling when more are needed than exist), then everything shuffled with the same seed.
    /// </summary>
    /// <typeparam name="T">Example type.</typeparam>
    /// <param name="primary">The task's examples (all kept).</param>
    /// <param name="replay">The pool to replay from.</param>
    /// <param name="replayFraction">Share of replayed examples in the result, in [0, 1).</param>
    /// <param name="seed">Seed of the draws and the shuffle.</param>
    /// <returns>The mixed list.</returns>
    public static IReadOnlyList<T> Mix<T>(IReadOnlyList<T> primary, IReadOnlyList<T> replay, double replayFraction, int seed)
    {
        ArgumentNullException.ThrowIfNull(primary);
        ArgumentNullException.ThrowIfNull(replay);
        if (!(replayFraction >= 0 && replayFraction < 1)) throw new ArgumentOutOfRangeException(nameof(replayFraction), replayFraction, "must be in [0, 1).");
        int wanted = (int)Math.Round(replayFraction / (1 - replayFraction) * primary.Count, MidpointRounding.AwayFromZero);
        if (wanted > 0 && replay.Count == 0) throw new ArgumentException("the replay pool is empty but a replay fraction above 0 was asked for.", nameof(replay));
        var random = new Random(seed);
        var mixed = new List<T>(primary.Count + wanted);
        mixed.AddRange(primary);
        int[] pool = Array.Empty<int>();
        for (int i = 0; i < wanted; i++)
        {
            if (i % replay.Count == 0) pool = Shuffled(replay.Count, random);
            mixed.Add(replay[pool[i % replay.Count]]);
        }

        int[] order = Shuffled(mixed.Count, random);
        return order.Select(i => mixed[i]).ToList();
    }

    /// <summary>Fisher-Yates permutation of 0..n-1.</summary>
    private static int[] Shuffled(int n, Random random)
    {
        int[] order = Enumerable.Range(0, n).ToArray();
        for (int i = n - 1; i > 0; i--)
        {
            int j = random.Next(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }

        return order;
    }
}

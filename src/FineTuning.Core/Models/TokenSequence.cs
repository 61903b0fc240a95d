using System;
using System.Collections.Generic;

namespace FineTuning.Models;

/// <summary>
/// One causal-LM training example: token ids and, position by position, the label to predict there
/// (Hugging Face convention: labels are NOT shifted; the objective shifts them). A label of
/// <see cref="IgnoreIndex"/> (-100) excludes that position from the loss (prompt tokens, padding).
/// </summary>
public sealed class TokenSequence
{
    /// <summary>The label value that excludes a position from the loss (-100, as in PyTorch and HF).</summary>
    public const long IgnoreIndex = -100;

    /// <summary>Creates an example; <paramref name="labels"/> must have the length of <paramref name="inputIds"/>.</summary>
    /// <param name="inputIds">Token ids, not empty, all non-negative.</param>
    /// <param name="labels">Labels per position (usually the input ids, with -100 where nothing is learned).</param>
    /// <exception cref="ArgumentException">The arrays are empty, of different lengths, or hold negative ids/labels other than -100.</exception>
    public TokenSequence(IReadOnlyList<long> inputIds, IReadOnlyList<long> labels)
    {
        ArgumentNullException.ThrowIfNull(inputIds);
        ArgumentNullException.ThrowIfNull(labels);
        if (inputIds.Count == 0) throw new ArgumentException("a token sequence needs at least one token.", nameof(inputIds));
        if (labels.Count != inputIds.Count)
        {
            throw new ArgumentException($"labels ({labels.Count}) and input ids ({inputIds.Count}) differ in length.", nameof(labels));
        }

        var ids = new long[inputIds.Count];
        var lab = new long[labels.Count];
        for (int i = 0; i < ids.Length; i++)
        {
            ids[i] = inputIds[i];
            lab[i] = labels[i];
            if (ids[i] < 0) throw new ArgumentException($"input id at {i} is negative ({ids[i]}).", nameof(inputIds));
            if (lab[i] < 0 && lab[i] != IgnoreIndex) throw new ArgumentException($"label at {i} is {lab[i]}; only {IgnoreIndex} may be negative.", nameof(labels));
        }

        InputIds = ids;
        Labels = lab;
    }

    /// <summary>Token ids (a private copy).</summary>
    public IReadOnlyList<long> InputIds { get; }

    /// <summary>Labels per position; <see cref="IgnoreIndex"/> = not learned.</summary>
    public IReadOnlyList<long> Labels { get; }

    /// <summary>Number of positions that contribute to the loss: labels at 1..n-1 that are not ignored (position 0 has no predecessor).</summary>
    public int TargetCount
    {
        get
        {
            int count = 0;
            for (int i = 1; i < Labels.Count; i++)
            {
                if (Labels[i] != IgnoreIndex) count++;
            }

            return count;
        }
    }

    /// <summary>An example that learns every token (labels = input ids).</summary>
    /// <param name="inputIds">Token ids.</param>
    /// <returns>The example.</returns>
    public static TokenSequence ForLanguageModeling(IReadOnlyList<long> inputIds) => new(inputIds, inputIds);
}

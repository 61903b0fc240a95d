using System;
using System.Collections.Generic;

namespace FineTuning.Models.Bert;

/// <summary>One tokenized sequence: token ids (special tokens included) and their segment (token type) ids.</summary>
public sealed class BertEncoding
{
    /// <summary>Creates an encoding; both lists must have the same length.</summary>
    /// <param name="inputIds">Token ids.</param>
    /// <param name="tokenTypeIds">Segment ids (0 for the first segment, 1 for the second).</param>
    public BertEncoding(IReadOnlyList<int> inputIds, IReadOnlyList<int> tokenTypeIds)
    {
        ArgumentNullException.ThrowIfNull(inputIds);
        ArgumentNullException.ThrowIfNull(tokenTypeIds);
        if (inputIds.Count != tokenTypeIds.Count) throw new ArgumentException("Token ids and token type ids differ in length.", nameof(tokenTypeIds));
        InputIds = inputIds;
        TokenTypeIds = tokenTypeIds;
    }

    /// <summary>Token ids, e.g. [101, 7592, 2088, 102] for "hello world".</summary>
    public IReadOnlyList<int> InputIds { get; }

    /// <summary>Segment ids, one per token.</summary>
    public IReadOnlyList<int> TokenTypeIds { get; }

    /// <summary>Number of tokens.</summary>
    public int Length => InputIds.Count;
}

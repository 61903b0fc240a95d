using System;
using System.Collections.Generic;

namespace FineTuning.Models.Bert;

/// <summary>One tokenized text with its class label, for <see cref="SequenceClassificationObjective"/>.</summary>
public sealed class TextClassificationExample
{
    /// <summary>Creates an example.</summary>
    /// <param name="inputIds">Token ids, special tokens included (e.g. from <see cref="WordPieceTokenizer.Encode(string, int)"/>).</param>
    /// <param name="label">The class index, in [0, num_labels).</param>
    /// <param name="tokenTypeIds">Segment ids, one per token; all zeros when null.</param>
    public TextClassificationExample(IReadOnlyList<int> inputIds, int label, IReadOnlyList<int>? tokenTypeIds = null)
    {
        ArgumentNullException.ThrowIfNull(inputIds);
        if (inputIds.Count == 0) throw new ArgumentException("An example needs at least one token.", nameof(inputIds));
        ArgumentOutOfRangeException.ThrowIfNegative(label);
        if (tokenTypeIds is not null && tokenTypeIds.Count != inputIds.Count)
        {
            throw new ArgumentException("Token type ids and input ids differ in length.", nameof(tokenTypeIds));
        }
        InputIds = inputIds;
        Label = label;
        TokenTypeIds = tokenTypeIds;
    }

    /// <summary>Creates an example from a tokenizer's encoding.</summary>
    /// <param name="encoding">The tokenized text.</param>
    /// <param name="label">The class index.</param>
    public TextClassificationExample(BertEncoding encoding, int label)
        : this((encoding ?? throw new ArgumentNullException(nameof(encoding))).InputIds, label, encoding.TokenTypeIds)
    {
    }

    /// <summary>Token ids, special tokens included.</summary>
    public IReadOnlyList<int> InputIds { get; }

    /// <summary>The class index.</summary>
    public int Label { get; }

    /// <summary>Segment ids, or null for all zeros.</summary>
    public IReadOnlyList<int>? TokenTypeIds { get; }
}

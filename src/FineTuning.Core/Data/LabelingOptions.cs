using System;
using System.Collections.Generic;

namespace FineTuning.Data;

/// <summary>How conversations become labelled token sequences.</summary>
public sealed class LabelingOptions
{
    /// <summary>Which tokens are learned.</summary>
    public LossScope Loss { get; set; } = LossScope.AssistantTurns;

    /// <summary>Maximum tokens per example (the model's context, or less); null = no limit.</summary>
    public int? MaxLength { get; set; }

    /// <summary>What to do with examples longer than <see cref="MaxLength"/>.</summary>
    public TruncationPolicy Truncation { get; set; } = TruncationPolicy.Drop;

    /// <summary>
    /// Ids of special-token markers (e.g. <c>"&lt;|im_start|&gt;" -&gt; 151644</c>) from the model's tokenizer. A
    /// marker without an entry is encoded as ordinary text.
    /// </summary>
    public IReadOnlyDictionary<string, int> SpecialTokens { get; set; } = new Dictionary<string, int>();

    internal LabelingOptions Validated()
    {
        if (MaxLength is < 2) throw new ArgumentOutOfRangeException(nameof(MaxLength), MaxLength, "at least 2 tokens are needed for one next-token target.");
        if (!Enum.IsDefined(Loss)) throw new ArgumentOutOfRangeException(nameof(Loss), Loss, "unknown loss scope.");
        if (!Enum.IsDefined(Truncation)) throw new ArgumentOutOfRangeException(nameof(Truncation), Truncation, "unknown truncation policy.");
        ArgumentNullException.ThrowIfNull(SpecialTokens, nameof(SpecialTokens));
        return new LabelingOptions { Loss = Loss, MaxLength = MaxLength, Truncation = Truncation, SpecialTokens = new Dictionary<string, int>(SpecialTokens) };
    }
}

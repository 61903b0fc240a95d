using System;
using System.Collections.Generic;
using System.Linq;

namespace FineTuning.Rlhf.Data;

/// <summary>An unpaired KTO example: a prompt, one completion and whether it is desirable (TRL's <c>label</c>).</summary>
public sealed class KtoExample
{
    /// <summary>Creates the example; an empty completion is a <see cref="PreferenceDataException"/>.</summary>
    public KtoExample(IReadOnlyList<long> promptIds, IReadOnlyList<long> completionIds, bool desirable)
    {
        ArgumentNullException.ThrowIfNull(promptIds);
        ArgumentNullException.ThrowIfNull(completionIds);
        if (completionIds.Count == 0) throw new PreferenceDataException("The completion is empty.");
        PromptIds = promptIds.ToArray();
        CompletionIds = completionIds.ToArray();
        Desirable = desirable;
    }

    /// <summary>The prompt's token ids.</summary>
    public IReadOnlyList<long> PromptIds { get; }

    /// <summary>The completion's token ids.</summary>
    public IReadOnlyList<long> CompletionIds { get; }

    /// <summary>True for a good completion, false for a bad one.</summary>
    public bool Desirable { get; }
}

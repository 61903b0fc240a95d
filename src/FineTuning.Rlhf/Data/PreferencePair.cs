using System;
using System.Collections.Generic;
using System.Linq;

namespace FineTuning.Rlhf.Data;

/// <summary>
/// One tokenized preference: a prompt and two completions, the chosen one preferred over the rejected one. The
/// completions should end with the end-of-sequence token so the model learns to stop. Token ids are copied.
/// </summary>
public sealed class PreferencePair
{
    /// <summary>Creates the pair; empty completions or identical sides are rejected with <see cref="PreferenceDataException"/>.</summary>
    public PreferencePair(IReadOnlyList<long> promptIds, IReadOnlyList<long> chosenIds, IReadOnlyList<long> rejectedIds)
    {
        ArgumentNullException.ThrowIfNull(promptIds);
        ArgumentNullException.ThrowIfNull(chosenIds);
        ArgumentNullException.ThrowIfNull(rejectedIds);
        if (chosenIds.Count == 0) throw new PreferenceDataException("The chosen completion is empty.");
        if (rejectedIds.Count == 0) throw new PreferenceDataException("The rejected completion is empty.");
        if (chosenIds.SequenceEqual(rejectedIds)) throw new PreferenceDataException("The chosen and rejected completions are identical: the pair carries no preference.");
        PromptIds = promptIds.ToArray();
        ChosenIds = chosenIds.ToArray();
        RejectedIds = rejectedIds.ToArray();
    }

    /// <summary>The prompt's token ids (no loss on them).</summary>
    public IReadOnlyList<long> PromptIds { get; }

    /// <summary>The preferred completion's token ids.</summary>
    public IReadOnlyList<long> ChosenIds { get; }

    /// <summary>The dispreferred completion's token ids.</summary>
    public IReadOnlyList<long> RejectedIds { get; }

    /// <summary>The longer of the two full sequences (prompt + completion).</summary>
    public int MaxLength => PromptIds.Count + Math.Max(ChosenIds.Count, RejectedIds.Count);
}

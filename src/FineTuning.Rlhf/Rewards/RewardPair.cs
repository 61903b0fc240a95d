using System;
using System.Collections.Generic;
using System.Linq;
using FineTuning.Rlhf.Data;

namespace FineTuning.Rlhf.Rewards;

/// <summary>
/// Two tokenized texts (each the prompt and a response, encoded as the reward model reads them), the first preferred,
/// with an optional margin by which its reward should exceed the other's (TRL's <c>margin</c> column).
/// </summary>
public sealed class RewardPair
{
    /// <summary>Creates the pair; empty or identical sides are a <see cref="PreferenceDataException"/>.</summary>
    public RewardPair(IReadOnlyList<int> chosenIds, IReadOnlyList<int> rejectedIds, double margin = 0)
    {
        ArgumentNullException.ThrowIfNull(chosenIds);
        ArgumentNullException.ThrowIfNull(rejectedIds);
        if (chosenIds.Count == 0 || rejectedIds.Count == 0) throw new PreferenceDataException("A reward pair has an empty side.");
        if (chosenIds.SequenceEqual(rejectedIds)) throw new PreferenceDataException("The chosen and rejected texts are identical: the pair carries no preference.");
        if (!double.IsFinite(margin)) throw new PreferenceDataException($"The margin must be finite (was {margin}).");
        ChosenIds = chosenIds.ToArray();
        RejectedIds = rejectedIds.ToArray();
        Margin = margin;
    }

    /// <summary>Token ids of the preferred text.</summary>
    public IReadOnlyList<int> ChosenIds { get; }

    /// <summary>Token ids of the other text.</summary>
    public IReadOnlyList<int> RejectedIds { get; }

    /// <summary>Required reward margin (0 = plain Bradley-Terry).</summary>
    public double Margin { get; }
}

using System;
using FineTuning.Models;
using FineTuning.Rlhf;
using FineTuning.Rlhf.Data;
using FineTuning.Rlhf.Losses;

namespace FineTuning;

/// <summary>The preference-tuning verbs on the Core builder.</summary>
public static class FineTunerPreferenceExtensions
{
    /// <summary>
    /// Turns a causal-LM builder (its model, options, adapters, logging) into one that trains on
    /// <see cref="PreferencePair"/>s with <paramref name="loss"/>, e.g.
    /// <c>FineTuner.For(model).WithLoRA(...).WithPreferenceLoss(new DpoLoss(beta: 0.1)).Train(pairs)</c>.
    /// </summary>
    public static FineTuner<PreferencePair> WithPreferenceLoss(this FineTuner<TokenSequence> builder, IPreferenceLoss loss,
        ReferencePolicy? reference = null, long padTokenId = 0, int? maxLength = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.WithObjective(new PreferenceObjective(loss, reference, padTokenId, maxLength));
    }

    /// <summary>As above, with an objective you keep a reference to (for its metrics history or extra reference caching).</summary>
    public static FineTuner<PreferencePair> WithPreferenceObjective(this FineTuner<TokenSequence> builder, PreferenceObjective objective)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.WithObjective(objective);
    }
}

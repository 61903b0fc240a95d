using System;
using FineTuning.Adapters;
using FineTuning.Lora.IA3;

namespace FineTuning;

/// <summary>The <c>WithIA3</c> verb on the Core builder.</summary>
public static class FineTunerIA3Extensions
{
    /// <summary>
    /// Trains (IA)³ vectors instead of the full model: the <paramref name="targets"/> get a learned vector that scales their
    /// output, or their input for the <paramref name="feedforwardModules"/> (which must be targets too); everything else is
    /// frozen. Null targets take PEFT's LLaMA defaults (<c>k_proj</c>, <c>v_proj</c>, <c>down_proj</c>, feedforward
    /// <c>down_proj</c>); with targets given, null feedforward modules means none.
    /// </summary>
    public static FineTuner<TExample> WithIA3<TExample>(this FineTuner<TExample> builder, ModuleTargets? targets = null, ModuleTargets? feedforwardModules = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (targets is null && feedforwardModules is not null)
            throw new ArgumentException("Give the targets too: feedforward modules must be a subset of them.", nameof(feedforwardModules));
        IA3Options options = targets is null ? new IA3Options() : new IA3Options { Targets = targets, FeedforwardModules = feedforwardModules };
        return builder.WithAdapter(new IA3Adapter(options));
    }

    /// <summary>Trains (IA)³ vectors configured by <paramref name="options"/> (copied).</summary>
    public static FineTuner<TExample> WithIA3<TExample>(this FineTuner<TExample> builder, IA3Options options)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.WithAdapter(new IA3Adapter(options));
    }
}

using System;
using FineTuning.Lora;

namespace FineTuning;

/// <summary>The <c>WithLoRA</c> verb on the Core builder.</summary>
public static class FineTunerLoRAExtensions
{
    /// <summary>
    /// Trains LoRA adapters instead of the full model: the targeted linear layers get rank-<paramref name="r"/>
    /// adapters scaled by <paramref name="alpha"/>/r, everything else is frozen (except modules_to_save).
    /// </summary>
    public static FineTuner<TExample> WithLoRA<TExample>(this FineTuner<TExample> builder, int r = 8, double alpha = 8,
        LoRATargets? targets = null, Action<LoRAOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = new LoRAOptions { R = r, Alpha = alpha, Targets = targets ?? LoRATargets.AllLinear };
        configure?.Invoke(options);
        if (options.R < 1) throw new ArgumentOutOfRangeException(nameof(r), r, "LoRA r must be at least 1.");
        if (!(options.Alpha > 0)) throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "LoRA alpha must be positive.");
        return builder.WithAdapter(new LoRAAdapter(options));
    }

    /// <summary>Trains LoRA adapters configured by <paramref name="options"/> (copied).</summary>
    public static FineTuner<TExample> WithLoRA<TExample>(this FineTuner<TExample> builder, LoRAOptions options)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.WithAdapter(new LoRAAdapter(options));
    }
}

using System;
using FineTuning.Quantization;

namespace FineTuning;

/// <summary>The <c>WithQuantization</c> verb on the Core builder.</summary>
public static class FineTunerQuantizationExtensions
{
    /// <summary>
    /// Quantizes the targeted linear layers (default: all except the output head) to <paramref name="type"/> (default
    /// NF4) when the run starts; they become frozen <see cref="QuantizedLinear"/> layers. Combine with an adapter
    /// that trains something (e.g. LoRA) for QLoRA.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The block size is not a power of two from 32 to 4096.</exception>
    public static FineTuner<TExample> WithQuantization<TExample>(this FineTuner<TExample> builder, QuantizationType? type = null,
        QuantizationTargets? targets = null, Action<QuantizationOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = new QuantizationOptions { Type = type ?? QuantizationType.NF4, Targets = targets ?? QuantizationTargets.AllLinear };
        configure?.Invoke(options);
        if (options.BlockSize < 32 || options.BlockSize > 4096 || (options.BlockSize & (options.BlockSize - 1)) != 0)
            throw new ArgumentOutOfRangeException(nameof(configure), options.BlockSize, "The block size must be a power of two from 32 to 4096.");
        return builder.WithAdapter(new QuantizationAdapter(options));
    }

    /// <summary>Quantizes as configured by <paramref name="options"/> (copied).</summary>
    public static FineTuner<TExample> WithQuantization<TExample>(this FineTuner<TExample> builder, QuantizationOptions options)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.WithAdapter(new QuantizationAdapter(options));
    }
}

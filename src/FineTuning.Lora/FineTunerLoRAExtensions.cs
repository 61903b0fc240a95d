using System;
using FineTuning.Adapters;
using FineTuning.Lora;

namespace FineTuning;

/// <summary>The <c>WithLoRA</c> and <c>WithQLoRA</c> verbs on the Core builder.</summary>
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
        return builder.WithAdapter(new LoRAAdapter(Options(r, alpha, targets, configure)));
    }

    /// <summary>Trains LoRA adapters configured by <paramref name="options"/> (copied).</summary>
    public static FineTuner<TExample> WithLoRA<TExample>(this FineTuner<TExample> builder, LoRAOptions options)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.WithAdapter(new LoRAAdapter(options));
    }

    /// <summary>
    /// QLoRA (Dettmers et al. 2023): quantizes the base model's linear layers as <paramref name="quantization"/> says
    /// (e.g. FineTuning.Quantization's <c>new QuantizationOptions { DoubleQuantization = true }</c>: NF4, blocks of 64),
    /// then trains LoRA adapters over the frozen quantized layers. Exactly <c>WithAdapter(quantization.CreateAdapter())</c>
    /// followed by <see cref="WithLoRA{TExample}(FineTuner{TExample}, int, double, LoRATargets?, Action{LoRAOptions}?)"/>;
    /// the adapter saves as an ordinary PEFT LoRA adapter and reloads onto a base quantized with the same settings. With
    /// <c>InitLoraWeights = LoRAInit.LoftQ(n)</c> the LoRA adapter quantizes the base itself (LoftQ: A and B absorb the
    /// quantization error).
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="quantization"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">r is below 1 or alpha is not positive.</exception>
    public static FineTuner<TExample> WithQLoRA<TExample>(this FineTuner<TExample> builder, IQuantizationConfig quantization,
        int r = 8, double alpha = 8, LoRATargets? targets = null, Action<LoRAOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(quantization);
        return builder.WithQLoRA(quantization, Options(r, alpha, targets, configure));
    }

    /// <summary>QLoRA with the LoRA settings in <paramref name="options"/> (copied); see the other overload.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="quantization"/> or <paramref name="options"/> is null.</exception>
    public static FineTuner<TExample> WithQLoRA<TExample>(this FineTuner<TExample> builder, IQuantizationConfig quantization, LoRAOptions options)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(quantization);
        ArgumentNullException.ThrowIfNull(options);
        // LoftQ quantizes the base inside the LoRA adapter: it needs the full-precision weights the quantization replaces.
        if (options.InitLoraWeights is { IsLoftQ: true }) return builder.WithAdapter(new LoRAAdapter(options, quantization));
        return builder.WithAdapter(quantization.CreateAdapter()).WithLoRA(options);
    }

    internal static LoRAOptions Options(int r, double alpha, LoRATargets? targets, Action<LoRAOptions>? configure)
    {
        var options = new LoRAOptions { R = r, Alpha = alpha, Targets = targets ?? LoRATargets.AllLinear };
        configure?.Invoke(options);
        if (options.R < 1) throw new ArgumentOutOfRangeException(nameof(r), r, "LoRA r must be at least 1.");
        if (!(options.Alpha > 0)) throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "LoRA alpha must be positive.");
        return options;
    }
}

using System;
using FineTuning.Lora;
using FineTuning.Sft;

namespace FineTuning;

/// <summary>The <c>WithLoRA</c> verb on the one-call SFT builder (<see cref="FineTuner.ForSft"/>).</summary>
public static class SftTunerLoRAExtensions
{
    /// <summary>
    /// Trains LoRA adapters instead of the full model, as <see cref="FineTunerLoRAExtensions.WithLoRA{TExample}(FineTuner{TExample}, int, double, LoRATargets?, Action{LoRAOptions}?)"/>.
    /// To let the model learn to emit an EOS / end-of-turn token whose row is untrained, add it with
    /// <c>configure: o => o.TrainableTokenIndices.Add(tokenizer.EosId)</c>.
    /// </summary>
    public static SftTuner WithLoRA(this SftTuner builder, int r = 8, double alpha = 8, LoRATargets? targets = null, Action<LoRAOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.WithAdapter(new LoRAAdapter(FineTunerLoRAExtensions.Options(r, alpha, targets, configure)));
    }

    /// <summary>Trains LoRA adapters configured by <paramref name="options"/> (copied).</summary>
    public static SftTuner WithLoRA(this SftTuner builder, LoRAOptions options)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.WithAdapter(new LoRAAdapter(options));
    }
}

using System;
using System.Collections.Generic;
using FineTuning.Models;
using FineTuning.Models.Tokenizers;
using FineTuning.Rlhf;
using FineTuning.Rlhf.Grpo;
using FineTuning.Rlhf.Rewards;

namespace FineTuning;

/// <summary>The online RL verbs (GRPO, RLOO) on the Core builder: train on prompts, with the policy's own samples scored by reward functions.</summary>
public static class FineTunerGrpoExtensions
{
    /// <summary>
    /// Turns a causal-LM builder (model, options, adapters, logging, progress) into one that trains on prompts with GRPO, e.g.
    /// <c>FineTuner.For(model).WithLoRA(...).WithGrpo(tokenizer, new GrpoOptions { NumGenerations = 8 }, reward).Train(prompts)</c>.
    /// <c>TrainingOptions.BatchSize</c> counts prompts; each brings <see cref="GrpoOptions.NumGenerations"/> completions.
    /// </summary>
    public static FineTuner<string> WithGrpo(this FineTuner<TokenSequence> builder, ITokenizer tokenizer, GrpoOptions options,
        IReadOnlyList<IRewardFunction> rewardFunctions, ReferencePolicy? reference = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.WithObjective(new GrpoObjective(tokenizer, options, rewardFunctions, reference));
    }

    /// <summary>As <see cref="WithGrpo"/>, with RLOO's leave-one-out baseline.</summary>
    public static FineTuner<string> WithRloo(this FineTuner<TokenSequence> builder, ITokenizer tokenizer, GrpoOptions options,
        IReadOnlyList<IRewardFunction> rewardFunctions, ReferencePolicy? reference = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.WithObjective(GrpoObjective.Rloo(tokenizer, options, rewardFunctions, reference));
    }

    /// <summary>As above, with an objective you keep a reference to (for its metrics history and held-out evaluation).</summary>
    public static FineTuner<string> WithGrpoObjective(this FineTuner<TokenSequence> builder, GrpoObjective objective)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.WithObjective(objective);
    }
}

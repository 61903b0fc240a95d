using System.Collections.Generic;

namespace FineTuning.Rlhf.Grpo;

/// <summary>Rewards of completions sampled on (held-out) prompts, from <see cref="GrpoObjective.Evaluate"/>.</summary>
/// <param name="Reward">Mean weighted reward.</param>
/// <param name="RewardFunctions">Mean and std per reward function.</param>
/// <param name="CompletionLength">Mean completion length in tokens.</param>
/// <param name="Samples">Every completion with its reward, prompt by prompt.</param>
public sealed record RewardEvaluation(double Reward, IReadOnlyList<RewardFunctionMetrics> RewardFunctions, double CompletionLength,
    IReadOnlyList<RewardSample> Samples);

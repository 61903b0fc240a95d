using System.Collections.Generic;

namespace FineTuning.Rlhf.Grpo;

/// <summary>What one GRPO / RLOO training micro-batch measured (TRL's logged metrics).</summary>
/// <param name="Generation">Index of the generation cycle the completions came from: (step - 1) / <c>NumIterations</c>, 0-based (repeats while <c>NumIterations</c> reuses it; the micro-batches of one step share it).</param>
/// <param name="Iteration">0 for the step that sampled, 1.. for the steps that reuse its completions.</param>
/// <param name="Completions">Completions in the micro-batch (prompts times <c>NumGenerations</c>).</param>
/// <param name="Reward">Mean weighted reward.</param>
/// <param name="RewardStd">Mean over prompts of the group's reward standard deviation (TRL's <c>reward_std</c>).</param>
/// <param name="RewardFunctions">Per reward function, in order.</param>
/// <param name="FractionZeroStd">Share of groups whose rewards are all equal (their advantages are 0: no learning signal).</param>
/// <param name="CompletionLength">Mean completion length in tokens (stop token included).</param>
/// <param name="TerminatedRatio">Share of completions that ended with a stop token within <c>MaxCompletionLength</c>.</param>
/// <param name="Kl">Mean per-token k3 KL to the reference; null when <c>Beta</c> is 0.</param>
/// <param name="LowClipRatio">Share of tokens with negative advantage whose ratio fell below <c>1 - Epsilon</c>.</param>
/// <param name="HighClipRatio">Share of tokens with positive advantage whose ratio rose above <c>1 + EpsilonHigh</c>.</param>
/// <param name="Entropy">Mean per-token entropy (nats) of the policy's sampling distribution over the completion tokens.</param>
/// <param name="Loss">The micro-batch's loss (its summed loss divided by its completions).</param>
public sealed record GrpoMetrics(long Generation, int Iteration, int Completions, double Reward, double RewardStd,
    IReadOnlyList<RewardFunctionMetrics> RewardFunctions, double FractionZeroStd, double CompletionLength, double TerminatedRatio,
    double? Kl, double LowClipRatio, double HighClipRatio, double Entropy, double Loss)
{
    /// <summary>Share of tokens clipped either way (TRL's <c>clip_ratio/region_mean</c>).</summary>
    public double ClipRatio => LowClipRatio + HighClipRatio;
}

namespace FineTuning.Rlhf.Grpo;

/// <summary>One sampled completion and its weighted reward.</summary>
/// <param name="Prompt">The prompt.</param>
/// <param name="Completion">The completion text.</param>
/// <param name="Reward">Weighted reward.</param>
public sealed record RewardSample(string Prompt, string Completion, double Reward);

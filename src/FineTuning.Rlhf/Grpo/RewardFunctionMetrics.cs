namespace FineTuning.Rlhf.Grpo;

/// <summary>Mean and standard deviation of one reward function over the completions of a batch (TRL's <c>rewards/NAME/mean</c>, <c>/std</c>).</summary>
/// <param name="Name">The reward function's name.</param>
/// <param name="Mean">Mean reward.</param>
/// <param name="Std">Unbiased standard deviation over the batch.</param>
public sealed record RewardFunctionMetrics(string Name, double Mean, double Std);

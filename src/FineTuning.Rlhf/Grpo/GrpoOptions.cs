using System;
using System.Collections.Generic;
using System.Linq;

namespace FineTuning.Rlhf.Grpo;

/// <summary>
/// Sampling and loss settings of GRPO and RLOO, named as TRL's <c>GRPOConfig</c> / <c>RLOOConfig</c> (<c>num_generations</c>,
/// <c>epsilon</c>, <c>epsilon_high</c>, <c>beta</c>, <c>scale_rewards</c>, <c>loss_type</c>, <c>num_iterations</c>,
/// <c>max_completion_length</c>, <c>temperature</c>, <c>top_p</c>, <c>reward_weights</c>). Optimizer, learning rate, batch
/// size (prompts per micro-batch) and steps are the trainer's <c>TrainingOptions</c>. Copied when the objective is built.
/// </summary>
public sealed class GrpoOptions
{
    /// <summary>Completions sampled per prompt (the group); at least 2. Default 8 (TRL's).</summary>
    public int NumGenerations { get; set; } = 8;

    /// <summary>Lower clipping bound of the policy ratio: <c>ratio &gt;= 1 - Epsilon</c>. Default 0.2.</summary>
    public double Epsilon { get; set; } = 0.2;

    /// <summary>Upper clipping bound <c>ratio &lt;= 1 + EpsilonHigh</c>; null (default) uses <see cref="Epsilon"/> (DAPO recommends 0.28).</summary>
    public double? EpsilonHigh { get; set; }

    /// <summary>Weight of the k3 KL estimate to the reference policy; 0 (default, as TRL) needs no reference pass.</summary>
    public double Beta { get; set; }

    /// <summary>Divide GRPO advantages by the group's standard deviation (plus 1e-4). Default true. Ignored by RLOO.</summary>
    public bool ScaleRewards { get; set; } = true;

    /// <summary>How token losses are averaged. Default <see cref="GrpoLossType.Dapo"/> (TRL's current default).</summary>
    public GrpoLossType LossType { get; set; } = GrpoLossType.Dapo;

    /// <summary>
    /// Optimizer steps per generation (the mu of the GRPO paper). With more than 1, the completions sampled at one step
    /// are reused for the next <c>NumIterations - 1</c> steps with their old log-probabilities cached, and the prompts
    /// the trainer hands over during those steps are not sampled (give <c>NumIterations</c> times more steps). Default 1.
    /// </summary>
    public int NumIterations { get; set; } = 1;

    /// <summary>Most tokens sampled per completion (an end-of-sequence token ends it earlier). Default 256.</summary>
    public int MaxCompletionLength { get; set; } = 256;

    /// <summary>Sampling temperature, &gt; 0. Default 1.</summary>
    public double Temperature { get; set; } = 1.0;

    /// <summary>Nucleus sampling threshold in (0, 1]. Default 1 (off).</summary>
    public double TopP { get; set; } = 1.0;

    /// <summary>Sample among the <c>TopK</c> most likely tokens; 0 (default) is off.</summary>
    public int TopK { get; set; }

    /// <summary>
    /// Seed of the sampling: micro-batch m of generation cycle g (step <c>g * NumIterations + 1</c>) uses a generator seeded
    /// from (<c>Seed</c>, g, m), so a resumed run samples what the uninterrupted one would. Default 42.
    /// </summary>
    public ulong Seed { get; set; } = 42;

    /// <summary>Weight of each reward function, in the order given; null (default) weighs each 1.</summary>
    public IReadOnlyList<double>? RewardWeights { get; set; }

    /// <summary>Token ids that end a completion (kept in it, then masked after); null means the tokenizer's EOS.</summary>
    public IReadOnlyList<int>? StopTokenIds { get; set; }

    /// <summary>Every problem with these values (empty when valid), for <paramref name="rewardFunctions"/> reward functions.</summary>
    public IReadOnlyList<string> Validate(int rewardFunctions)
    {
        var problems = new List<string>();
        if (NumGenerations < 2) problems.Add($"NumGenerations must be at least 2 (a group needs a baseline), got {NumGenerations}.");
        if (!(Epsilon > 0 && Epsilon < 1)) problems.Add($"Epsilon must be in (0, 1), got {Epsilon}.");
        if (EpsilonHigh is { } high && !(high > 0 && double.IsFinite(high))) problems.Add($"EpsilonHigh must be a finite number > 0, got {high}.");
        if (!(Beta >= 0 && double.IsFinite(Beta))) problems.Add($"Beta must be a finite number >= 0, got {Beta}.");
        if (NumIterations < 1) problems.Add($"NumIterations must be at least 1, got {NumIterations}.");
        if (MaxCompletionLength < 1) problems.Add($"MaxCompletionLength must be at least 1, got {MaxCompletionLength}.");
        if (!(Temperature > 0 && double.IsFinite(Temperature))) problems.Add($"Temperature must be a finite number > 0 (GRPO samples), got {Temperature}.");
        if (!(TopP > 0 && TopP <= 1)) problems.Add($"TopP must be in (0, 1], got {TopP}.");
        if (TopK < 0) problems.Add($"TopK must not be negative, got {TopK}.");
        if (rewardFunctions < 1) problems.Add("At least one reward function is needed.");
        if (RewardWeights is { } w)
        {
            if (w.Count != rewardFunctions) problems.Add($"RewardWeights has {w.Count} values for {rewardFunctions} reward functions.");
            if (w.Any(v => !double.IsFinite(v))) problems.Add("RewardWeights must be finite numbers.");
        }
        if (StopTokenIds is { Count: 0 }) problems.Add("StopTokenIds must not be empty (null means the tokenizer's EOS).");
        return problems;
    }

    /// <summary>A copy whose lists are copies too.</summary>
    public GrpoOptions Clone()
    {
        var copy = (GrpoOptions)MemberwiseClone();
        copy.RewardWeights = RewardWeights?.ToArray();
        copy.StopTokenIds = StopTokenIds?.ToArray();
        return copy;
    }
}

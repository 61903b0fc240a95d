using System.Collections.Generic;
using System.Linq;

namespace FineTuning.Rlhf.Grpo;

/// <summary>
/// One generation batch: each prompt's group of sampled completions (consecutive), their rewards and advantages, and
/// when reused over several iterations the old (and reference) per-token log-probabilities. Plain .NET data: no
/// tensor outlives the step that made it.
/// </summary>
internal sealed class Rollout
{
    public required string[] Prompts { get; init; }

    public required IReadOnlyList<int>[] PromptIds { get; init; }

    public required IReadOnlyList<int>[] Completions { get; init; }

    public required string[] CompletionTexts { get; init; }

    /// <summary>Per completion: it ends with a stop token (else it was cut at the maximum length).</summary>
    public required bool[] Terminated { get; init; }

    /// <summary>[function][completion].</summary>
    public required double[][] FunctionRewards { get; init; }

    /// <summary>The weighted sum of the function rewards, per completion.</summary>
    public required double[] Rewards { get; init; }

    /// <summary>Index of this generation batch in the run.</summary>
    public long Generation { get; set; }

    public double[] Advantages { get; set; } = System.Array.Empty<double>();

    /// <summary>Per-token log-probabilities [N, L] of the policy that sampled, flattened; null when computed at the loss (one iteration).</summary>
    public float[]? OldLogProbs { get; set; }

    /// <summary>Reference per-token log-probabilities [N, L], flattened; null when computed at the loss.</summary>
    public float[]? ReferenceLogProbs { get; set; }

    public int Count => Completions.Length;

    public IReadOnlyList<(IReadOnlyList<int> Prompt, IReadOnlyList<int> Completion)> Sequences =>
        PromptIds.Zip(Completions, (p, c) => (p, c)).ToArray();
}

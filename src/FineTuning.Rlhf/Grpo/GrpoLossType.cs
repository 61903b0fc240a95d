namespace FineTuning.Rlhf.Grpo;

/// <summary>
/// How the per-token losses of a batch are averaged (TRL's <c>loss_type</c>). <c>o_i</c> is completion i, <c>l_it</c>
/// its per-token loss, <c>N</c> the number of completions, <c>L</c> the <c>MaxCompletionLength</c>.
/// </summary>
public enum GrpoLossType
{
    /// <summary>
    /// <c>grpo</c> (Shao et al. 2024, arXiv:2402.03300): each completion's mean token loss, averaged over completions,
    /// <c>(1/N) sum_i (1/|o_i|) sum_t l_it</c>. Short completions weigh more per token.
    /// </summary>
    Grpo,

    /// <summary>
    /// <c>dr_grpo</c> (Liu et al. 2025, "Understanding R1-Zero-like training", arXiv:2503.20783): a constant
    /// normaliser, <c>sum_it l_it / (N L)</c>, removing the length bias of <see cref="Grpo"/>.
    /// </summary>
    DrGrpo,

    /// <summary>
    /// <c>dapo</c> (Yu et al. 2025, arXiv:2503.14476): token-level mean over the completions of a micro-batch,
    /// <c>sum_it l_it / sum_i |o_i|</c>. With gradient accumulation each micro-batch is normalised by its own tokens
    /// and weighted by its completions (TRL normalises over the whole accumulated batch).
    /// </summary>
    Dapo,
}

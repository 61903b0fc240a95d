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
    /// <c>dapo</c> (Yu et al. 2025, arXiv:2503.14476): token-level mean over every completion of the optimizer step,
    /// <c>sum_it l_it / sum_i |o_i|</c>, across gradient accumulation (the whole generation batch is sampled before the
    /// first micro-batch's loss), as TRL normalises by <c>num_items_in_batch</c>.
    /// </summary>
    Dapo,
}

namespace FineTuning.Benchmarks.Throughput;

/// <summary>
/// The LLaMA-shaped model and batch of issue #17 (hidden 512, 8 layers, 8 heads, FF 1376, vocab 8000, batch 8 x 256),
/// LoRA r = 16 on all seven linear layers of every decoder layer, and the model FLOPs one training step needs.
/// </summary>
internal sealed record ThroughputShape(int Hidden = 512, int Layers = 8, int Heads = 8, int Intermediate = 1376, int Vocab = 8000,
    int Batch = 8, int Sequence = 256, int Rank = 16)
{
    public long TokensPerStep => (long)Batch * Sequence;

    /// <summary>Weights of the matrix products of one token's forward: 4 attention projections, 3 MLP ones per layer, the head.</summary>
    public long MatmulWeights => (Layers * ((4L * Hidden * Hidden) + (3L * Hidden * Intermediate))) + ((long)Hidden * Vocab);

    /// <summary>LoRA parameters (A and B) on the seven projections of every layer.</summary>
    public long LoRAWeights => Layers * Rank * ((4L * 2 * Hidden) + (3L * (Hidden + Intermediate)));

    /// <summary>
    /// Model FLOPs of one step (forward + backward), counted as PaLM's MFU does (appendix B of Chowdhery et al. 2022):
    /// 2 FLOPs per weight per token forward, 2 more for the input gradients, 2 more for the weight gradients of what is
    /// trained (the full matrices, or only the LoRA factors), and 12 * layers * seq * hidden per token for attention's
    /// score and value products over the whole (unmasked) sequence. Recomputation, norms and elementwise work do not count.
    /// </summary>
    public double StepFlops(bool full)
    {
        double perToken = (4.0 * MatmulWeights) + (2.0 * (full ? MatmulWeights : 0)) + (6.0 * (full ? 0 : LoRAWeights))
                          + (12.0 * Layers * Sequence * Hidden);
        return perToken * TokensPerStep;
    }
}

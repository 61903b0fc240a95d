using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Generation;

/// <summary>Chooses the next token from logits: argmax, or temperature / top-k / top-p sampling with an explicit generator.</summary>
internal static class TokenSampler
{
    /// <summary>Next token ids [batch] (int64) for float logits [batch, vocab].</summary>
    internal static Tensor Choose(Tensor logits, GenerationOptions options, Generator? generator)
    {
        if (options.Temperature == 0) return logits.argmax(-1);
        Tensor scaled = logits / options.Temperature;
        long vocab = scaled.shape[^1];
        if (options.TopK > 0 && options.TopK < vocab)
        {
            (Tensor top, _) = scaled.topk(options.TopK, dim: -1);
            Tensor kth = top.narrow(-1, options.TopK - 1, 1);
            scaled = scaled.masked_fill(scaled.lt(kth), float.NegativeInfinity);
        }

        if (options.TopP < 1.0)
        {
            // Nucleus (Holtzman et al. 2019): drop a token when the tokens more likely than it already reach TopP.
            (Tensor sorted, Tensor indices) = scaled.sort(-1, descending: true);
            Tensor probs = sorted.softmax(-1);
            Tensor before = probs.cumsum(-1) - probs;
            Tensor dropSorted = before.ge(options.TopP);
            Tensor drop = torch.zeros_like(dropSorted).scatter(-1, indices, dropSorted);
            scaled = scaled.masked_fill(drop, float.NegativeInfinity);
        }

        return scaled.softmax(-1).multinomial(1, generator: generator).squeeze(-1);
    }
}

using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Rlhf.Grpo;

/// <summary>
/// Per-token log-probabilities (and entropies) of completions given prompts, from one right-padded forward pass. Right
/// padding never changes the logits of earlier positions of a causal LM, so tokens after a completion's end (its stop
/// token) are simply masked out.
/// </summary>
internal static class TokenLogProbs
{
    /// <summary>
    /// <c>LogProbs</c> and <c>Entropy</c> [N, L] of the completion tokens under <c>softmax(logits / temperature)</c> (as TRL,
    /// which scores the distribution it sampled from), <c>Mask</c> [N, L] 1 for completion tokens, 0 after each
    /// completion's end. L is the longest completion. Entropy is computed without gradients.
    /// </summary>
    public static (Tensor LogProbs, Tensor Mask, Tensor Entropy) Compute(nn.Module model, IReadOnlyList<(IReadOnlyList<int> Prompt, IReadOnlyList<int> Completion)> sequences,
        double temperature, long padTokenId, Device device)
    {
        if (model is not nn.Module<Tensor, Tensor> lm)
            throw new ArgumentException($"GRPO needs a causal LM mapping token ids to logits (Module<Tensor, Tensor>), got {model.GetType().Name}.", nameof(model));
        if (sequences.Any(s => s.Prompt.Count == 0))
            throw new ArgumentException("A prompt has no tokens: the first completion token needs at least one token (e.g. BOS) before it.", nameof(sequences));
        using var scope = NewDisposeScope();
        int n = sequences.Count;
        int width = sequences.Max(s => s.Prompt.Count + s.Completion.Count);
        int length = Math.Max(1, sequences.Max(s => s.Completion.Count));
        var ids = new long[n * width];
        Array.Fill(ids, padTokenId);
        var positions = new long[n * length];
        var labels = new long[n * length];
        var mask = new float[n * length];
        for (int i = 0; i < n; i++)
        {
            (IReadOnlyList<int> prompt, IReadOnlyList<int> completion) = sequences[i];
            for (int t = 0; t < prompt.Count; t++) ids[i * width + t] = prompt[t];
            for (int t = 0; t < completion.Count; t++)
            {
                ids[i * width + prompt.Count + t] = completion[t];
                positions[i * length + t] = prompt.Count + t - 1; // the logits that predict completion token t
                labels[i * length + t] = completion[t];
                mask[i * length + t] = 1;
            }
        }
        Tensor logits = lm.call(tensor(ids, new long[] { n, width }, device: device));
        long vocab = logits.shape[2];
        Tensor index = tensor(positions, new long[] { n, length, 1 }, device: device).expand(n, length, vocab);
        Tensor logSoftmax = logits.gather(1, index).to(ScalarType.Float32).div(temperature).log_softmax(-1);
        Tensor logProbs = logSoftmax.gather(-1, tensor(labels, new long[] { n, length, 1 }, device: device)).squeeze(-1);
        Tensor entropy;
        using (no_grad()) entropy = logSoftmax.detach().exp().mul(logSoftmax.detach()).sum(new long[] { -1 }).neg();
        Tensor maskTensor = tensor(mask, new long[] { n, length }, device: device);
        return (logProbs.MoveToOuterDisposeScope(), maskTensor.MoveToOuterDisposeScope(), entropy.MoveToOuterDisposeScope());
    }
}

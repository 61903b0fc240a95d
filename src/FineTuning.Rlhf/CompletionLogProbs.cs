using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Rlhf;

/// <summary>Log-probabilities of completions given prompts, for a batch run as one right-padded tensor.</summary>
internal static class CompletionLogProbs
{
    /// <summary>Per sequence: the completion's summed token log-probabilities and its token count, [N] each.</summary>
    public static (Tensor Sum, Tensor Count) Compute(nn.Module model, IReadOnlyList<(IReadOnlyList<long> Prompt, IReadOnlyList<long> Completion)> sequences, long padTokenId, Device device)
    {
        if (model is not nn.Module<Tensor, Tensor> lm)
            throw new ArgumentException($"Preference objectives need a module mapping token ids to logits (Module<Tensor, Tensor>), got {model.GetType().Name}.", nameof(model));
        int n = sequences.Count;
        int length = sequences.Max(s => s.Prompt.Count + s.Completion.Count);
        var ids = new long[n * length];
        var labels = new long[n * length];
        Array.Fill(ids, padTokenId);
        Array.Fill(labels, -100L);
        for (int i = 0; i < n; i++)
        {
            (IReadOnlyList<long> prompt, IReadOnlyList<long> completion) = sequences[i];
            int offset = i * length;
            for (int t = 0; t < prompt.Count; t++) ids[offset + t] = prompt[t];
            for (int t = 0; t < completion.Count; t++)
            {
                ids[offset + prompt.Count + t] = completion[t];
                labels[offset + prompt.Count + t] = completion[t];
            }
        }
        Tensor input = tensor(ids, new long[] { n, length }, device: device);
        Tensor target = tensor(labels, new long[] { n, length }, device: device);
        return SequenceLogProbs.Compute(lm.call(input), target);
    }
}

using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Rlhf.Rewards;

/// <summary>Scores token sequences with a reward model (a one-label sequence classifier).</summary>
public static class RewardScorer
{
    /// <summary>The reward of each sequence, batched, without gradients, in evaluation mode (restored afterwards).</summary>
    public static double[] Score(nn.Module model, IReadOnlyList<IReadOnlyList<int>> sequences, int batchSize = 16)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(sequences);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        bool wasTraining = model.training;
        model.eval();
        try
        {
            using var noGrad = no_grad();
            Device device = model.parameters().First().device;
            var result = new List<double>(sequences.Count);
            foreach (IReadOnlyList<int>[] chunk in sequences.Chunk(batchSize))
            {
                using var scope = NewDisposeScope();
                result.AddRange(Scores(model, chunk, device).to(ScalarType.Float64).cpu().data<double>().ToArray());
            }
            return result.ToArray();
        }
        finally
        {
            model.train(wasTraining);
        }
    }

    internal static Tensor Scores(nn.Module model, IReadOnlyList<IReadOnlyList<int>> sequences, Device device)
    {
        if (model is not nn.Module<Tensor, Tensor, Tensor, Tensor> scorer)
            throw new ArgumentException($"A reward model maps (input_ids, attention_mask, token_type_ids) to [batch, 1] scores; got {model.GetType().Name}.", nameof(model));
        int length = sequences.Max(s => s.Count);
        var ids = new long[sequences.Count * length];
        var mask = new long[sequences.Count * length];
        for (int i = 0; i < sequences.Count; i++)
            for (int t = 0; t < sequences[i].Count; t++)
            {
                ids[i * length + t] = sequences[i][t];
                mask[i * length + t] = 1;
            }
        Tensor input = tensor(ids, new long[] { sequences.Count, length }, device: device);
        Tensor attention = tensor(mask, new long[] { sequences.Count, length }, device: device);
        Tensor scores = scorer.call(input, attention, zeros_like(input));
        if (scores.shape.Length != 2 || scores.shape[1] != 1)
            throw new ArgumentException($"A reward model must output [batch, 1] scores; got [{string.Join(", ", scores.shape)}]. Use a classifier with one label.", nameof(model));
        return scores.squeeze(1).to(ScalarType.Float32);
    }
}

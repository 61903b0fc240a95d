using System;
using System.Collections.Generic;
using System.Linq;
using FineTuning.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Rlhf.Rewards;

/// <summary>
/// Trains a reward model with the Bradley-Terry loss <c>-log sigma(r_chosen - r_rejected - margin)</c> (as TRL's
/// RewardTrainer). The model is any sequence scorer <c>Module&lt;Tensor, Tensor, Tensor, Tensor&gt;</c> mapping
/// (input_ids, attention_mask, token_type_ids) to [batch, 1] scores, e.g. a
/// <c>BertForSequenceClassification</c> with one label (what Hugging Face calls a reward model). One target per pair.
/// </summary>
public sealed class BradleyTerryObjective : ITrainingObjective<RewardPair>
{
    /// <inheritdoc />
    public long CountTargets(IReadOnlyList<RewardPair> examples)
    {
        ArgumentNullException.ThrowIfNull(examples);
        return examples.Count;
    }

    /// <inheritdoc />
    public Tensor SummedLoss(nn.Module model, IReadOnlyList<RewardPair> examples, Device device)
    {
        ArgumentNullException.ThrowIfNull(examples);
        using var scope = NewDisposeScope();
        int n = examples.Count;
        Tensor scores = RewardScorer.Scores(model, examples.Select(e => e.ChosenIds).Concat(examples.Select(e => e.RejectedIds)).ToArray(), device);
        Tensor margin = tensor(examples.Select(e => (float)e.Margin).ToArray(), device: device);
        Tensor loss = nn.functional.logsigmoid(scores.narrow(0, 0, n).sub(scores.narrow(0, n, n)).sub(margin)).neg().sum();
        return loss.MoveToOuterDisposeScope();
    }

    /// <summary>Fraction of pairs whose chosen text scores higher, and the mean score difference.</summary>
    public static (double Accuracy, double MeanMargin) Evaluate(nn.Module model, IReadOnlyList<RewardPair> pairs, int batchSize = 16)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(pairs);
        double[] chosen = RewardScorer.Score(model, pairs.Select(p => p.ChosenIds).ToArray(), batchSize);
        double[] rejected = RewardScorer.Score(model, pairs.Select(p => p.RejectedIds).ToArray(), batchSize);
        return (chosen.Zip(rejected).Count(p => p.First > p.Second) / (double)pairs.Count, chosen.Zip(rejected).Average(p => p.First - p.Second));
    }
}

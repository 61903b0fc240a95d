using System;
using System.Collections.Generic;
using System.Linq;
using FineTuning.Evaluation;
using FineTuning.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Rlhf.Rewards;

/// <summary>
/// Trains a reward model with the Bradley-Terry loss <c>-log sigma(r_chosen - r_rejected - margin)</c> (as TRL's
/// RewardTrainer). The model is any sequence scorer <c>Module&lt;Tensor, Tensor, Tensor, Tensor&gt;</c> mapping
/// (input_ids, attention_mask, token_type_ids) to [batch, 1] scores, e.g. a
/// <c>BertForSequenceClassification</c> with one label (what Hugging Face calls a reward model). One target per pair.
/// Validation records <c>accuracy</c> (pairs whose chosen text scores higher, as TRL's RewardTrainer) and
/// <c>rewards/margins</c> (mean chosen minus rejected score).
/// </summary>
public sealed class BradleyTerryObjective : IEvaluatingObjective<RewardPair>
{
    /// <inheritdoc />
    public long CountTargets(IReadOnlyList<RewardPair> examples)
    {
        ArgumentNullException.ThrowIfNull(examples);
        return examples.Count;
    }

    /// <inheritdoc />
    public Tensor SummedLoss(nn.Module model, IReadOnlyList<RewardPair> examples, Device device) => Summed(model, examples, device, null);

    /// <inheritdoc />
    public Tensor SummedLoss(nn.Module model, IReadOnlyList<RewardPair> examples, Device device, PredictionRecorder predictions)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        return Summed(model, examples, device, predictions);
    }

    private static Tensor Summed(nn.Module model, IReadOnlyList<RewardPair> examples, Device device, PredictionRecorder? predictions)
    {
        ArgumentNullException.ThrowIfNull(examples);
        using var scope = NewDisposeScope();
        int n = examples.Count;
        Tensor scores = RewardScorer.Scores(model, examples.Select(e => e.ChosenIds).Concat(examples.Select(e => e.RejectedIds)).ToArray(), device);
        Tensor chosen = scores.narrow(0, 0, n), rejected = scores.narrow(0, n, n);
        Tensor margin = tensor(examples.Select(e => (float)e.Margin).ToArray(), device: device);
        Tensor loss = nn.functional.logsigmoid(chosen.sub(rejected).sub(margin)).neg().sum();
        if (predictions is not null)
        {
            PreferenceMetrics.RecordComparison(Values(chosen), Values(rejected), MetricNames.Accuracy, predictions);
        }
        return loss.MoveToOuterDisposeScope();
    }

    private static double[] Values(Tensor scores) => scores.detach().reshape(-1).to(ScalarType.Float64).cpu().data<double>().ToArray();

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

using System.Collections.Generic;
using System.Linq;
using FineTuning.Evaluation;
using FineTuning.Rlhf.Losses;
using static TorchSharp.torch;

namespace FineTuning.Rlhf;

/// <summary>Mean implicit rewards, their margin and the share of pairs whose chosen reward is higher.</summary>
/// <param name="Pairs">Pairs measured.</param>
/// <param name="ChosenReward">Mean reward of chosen completions.</param>
/// <param name="RejectedReward">Mean reward of rejected completions.</param>
/// <param name="Accuracy">Fraction of pairs with chosen reward &gt; rejected reward.</param>
public sealed record PreferenceMetrics(int Pairs, double ChosenReward, double RejectedReward, double Accuracy)
{
    /// <summary>Mean chosen minus mean rejected reward.</summary>
    public double Margin => ChosenReward - RejectedReward;

    internal static PreferenceMetrics From(IPreferenceLoss loss, PreferenceLogProbs logProbs)
    {
        (double[] chosen, double[] rejected) = Rewards(loss, logProbs);
        return new PreferenceMetrics(chosen.Length, chosen.Average(), rejected.Average(),
            chosen.Zip(rejected).Count(p => p.First > p.Second) / (double)chosen.Length);
    }

    /// <summary>Records each pair's rewards, whether the chosen one is higher, and their difference, under TRL's names.</summary>
    internal static void Record(IPreferenceLoss loss, PreferenceLogProbs logProbs, PredictionRecorder predictions)
    {
        (double[] chosen, double[] rejected) = Rewards(loss, logProbs);
        predictions.AddValues(MetricNames.RewardsChosen, chosen);
        predictions.AddValues(MetricNames.RewardsRejected, rejected);
        RecordComparison(chosen, rejected, MetricNames.RewardsAccuracies, predictions);
    }

    /// <summary>Records, per pair, 1 when <paramref name="chosen"/> is above <paramref name="rejected"/> (else 0) under <paramref name="accuracyName"/>, and their difference as <c>rewards/margins</c>.</summary>
    internal static void RecordComparison(double[] chosen, double[] rejected, string accuracyName, PredictionRecorder predictions)
    {
        predictions.AddValues(accuracyName, chosen.Zip(rejected, (c, r) => c > r ? 1.0 : 0.0).ToArray());
        predictions.AddValues(MetricNames.RewardsMargins, chosen.Zip(rejected, (c, r) => c - r).ToArray());
    }

    private static (double[] Chosen, double[] Rejected) Rewards(IPreferenceLoss loss, PreferenceLogProbs logProbs)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        (Tensor c, Tensor r) = loss.Rewards(logProbs);
        return (c.detach().to(ScalarType.Float64).cpu().data<double>().ToArray(), r.detach().to(ScalarType.Float64).cpu().data<double>().ToArray());
    }

    internal static PreferenceMetrics Combine(IReadOnlyList<PreferenceMetrics> parts)
    {
        int n = parts.Sum(p => p.Pairs);
        return new PreferenceMetrics(n, parts.Sum(p => p.ChosenReward * p.Pairs) / n, parts.Sum(p => p.RejectedReward * p.Pairs) / n,
            parts.Sum(p => p.Accuracy * p.Pairs) / n);
    }
}

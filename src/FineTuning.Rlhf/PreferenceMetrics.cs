using System.Collections.Generic;
using System.Linq;
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
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        (Tensor c, Tensor r) = loss.Rewards(logProbs);
        double[] chosen = c.detach().to(ScalarType.Float64).cpu().data<double>().ToArray();
        double[] rejected = r.detach().to(ScalarType.Float64).cpu().data<double>().ToArray();
        return new PreferenceMetrics(chosen.Length, chosen.Average(), rejected.Average(),
            chosen.Zip(rejected).Count(p => p.First > p.Second) / (double)chosen.Length);
    }

    internal static PreferenceMetrics Combine(IReadOnlyList<PreferenceMetrics> parts)
    {
        int n = parts.Sum(p => p.Pairs);
        return new PreferenceMetrics(n, parts.Sum(p => p.ChosenReward * p.Pairs) / n, parts.Sum(p => p.RejectedReward * p.Pairs) / n,
            parts.Sum(p => p.Accuracy * p.Pairs) / n);
    }
}

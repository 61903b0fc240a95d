using System.Collections.Generic;
using System.Linq;
using FineTuning.Rlhf.Rewards;
using static TorchSharp.torch;

namespace FineTuning.Rlhf.Grpo;

/// <summary>Builds <see cref="GrpoMetrics"/> from a rollout and the tensors of its loss.</summary>
internal static class GrpoStepMetrics
{
    public static GrpoMetrics From(Rollout rollout, int iteration, GrpoOptions options, IReadOnlyList<IRewardFunction> functions,
        Tensor mask, Tensor entropy, Tensor lowClipped, Tensor highClipped, Tensor? kl, double loss)
    {
        int groups = rollout.Count / options.NumGenerations;
        double[] stds = Advantages.GroupStds(rollout.Rewards, options.NumGenerations);
        return new GrpoMetrics(rollout.Generation, iteration, rollout.Count, rollout.Rewards.Average(), stds.Average(),
            PerFunction(functions, rollout.FunctionRewards), stds.Count(s => s == 0) / (double)groups,
            rollout.Completions.Average(c => c.Count), rollout.Terminated.Count(t => t) / (double)rollout.Count,
            kl is null ? null : GrpoLoss.MaskedMean(kl, mask), GrpoLoss.MaskedMean(lowClipped, mask), GrpoLoss.MaskedMean(highClipped, mask),
            GrpoLoss.MaskedMean(entropy, mask), loss);
    }

    public static IReadOnlyList<RewardFunctionMetrics> PerFunction(IReadOnlyList<IRewardFunction> functions, double[][] rewards) =>
        functions.Select((f, k) => new RewardFunctionMetrics(f.Name, rewards[k].Average(), Advantages.Std(rewards[k]))).ToArray();
}

using System;
using System.Linq;

namespace FineTuning.Rlhf.Grpo;

/// <summary>Advantages of completions sampled in groups (consecutive runs of <c>groupSize</c> share a prompt), in fp64.</summary>
internal static class Advantages
{
    /// <summary>Added to the group's standard deviation before dividing (TRL's 1e-4), so a group of equal rewards gives 0.</summary>
    internal const double StdEpsilon = 1e-4;

    /// <summary>GRPO: <c>r_i - mean(group)</c>, divided by <c>std(group) + 1e-4</c> (unbiased std, as torch.std) when <paramref name="scale"/>.</summary>
    public static double[] GroupRelative(double[] rewards, int groupSize, bool scale)
    {
        var result = new double[rewards.Length];
        ForEachGroup(rewards, groupSize, (start, group) =>
        {
            double mean = group.Average();
            double std = Std(group);
            for (int i = 0; i < group.Length; i++) result[start + i] = scale ? (group[i] - mean) / (std + StdEpsilon) : group[i] - mean;
        });
        return result;
    }

    /// <summary>RLOO (Ahmadian et al. 2024, arXiv:2402.14740): <c>r_i</c> minus the mean reward of the other completions of its group.</summary>
    public static double[] LeaveOneOut(double[] rewards, int groupSize)
    {
        var result = new double[rewards.Length];
        ForEachGroup(rewards, groupSize, (start, group) =>
        {
            double sum = group.Sum();
            for (int i = 0; i < group.Length; i++) result[start + i] = group[i] - (sum - group[i]) / (group.Length - 1);
        });
        return result;
    }

    /// <summary>Unbiased standard deviation of each group.</summary>
    public static double[] GroupStds(double[] rewards, int groupSize)
    {
        var result = new double[rewards.Length / groupSize];
        ForEachGroup(rewards, groupSize, (start, group) => result[start / groupSize] = Std(group));
        return result;
    }

    /// <summary>Unbiased standard deviation (0 for fewer than two values).</summary>
    public static double Std(double[] values)
    {
        if (values.Length < 2) return 0;
        double mean = values.Average();
        return Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Length - 1));
    }

    private static void ForEachGroup(double[] rewards, int groupSize, Action<int, double[]> action)
    {
        if (groupSize < 2 || rewards.Length % groupSize != 0)
            throw new ArgumentException($"{rewards.Length} rewards do not form groups of {groupSize} (at least 2).", nameof(rewards));
        for (int start = 0; start < rewards.Length; start += groupSize) action(start, rewards[start..(start + groupSize)]);
    }
}

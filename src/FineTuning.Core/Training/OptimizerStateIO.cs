using System;
using System.Collections.Generic;
using System.Linq;
using static TorchSharp.torch;

namespace FineTuning.Training;

/// <summary>Checks shared by the optimizers' <c>LoadStateDict</c>.</summary>
internal static class OptimizerStateIO
{
    public static void CheckKeys(IReadOnlyDictionary<string, Tensor> state, IEnumerable<string> expected)
    {
        var want = new HashSet<string>(expected, StringComparer.Ordinal);
        string[] missing = want.Where(k => !state.ContainsKey(k)).ToArray();
        string[] unexpected = state.Keys.Where(k => !want.Contains(k)).ToArray();
        if (missing.Length > 0 || unexpected.Length > 0)
            throw new CheckpointException($"The optimizer state does not fit this run: missing [{string.Join(", ", missing.Take(10))}], unexpected [{string.Join(", ", unexpected.Take(10))}].");
    }

    /// <summary>Checks that <paramref name="source"/> can replace <paramref name="target"/> (same shape, floating point).</summary>
    public static void CheckFits(Tensor target, Tensor source, string name)
    {
        if (!target.shape.SequenceEqual(source.shape))
            throw new CheckpointException($"Optimizer state \"{name}\" has shape [{string.Join(", ", source.shape)}]; this run needs [{string.Join(", ", target.shape)}].");
        if (!source.is_floating_point())
            throw new CheckpointException($"Optimizer state \"{name}\" is {source.dtype}; a floating-point tensor is needed.");
    }

    /// <summary>The step count stored as <paramref name="name"/>: one finite, non-negative whole number.</summary>
    public static long ReadStep(Tensor step, string name)
    {
        if (step.numel() != 1 || step.dim() > 1)
            throw new CheckpointException($"Optimizer state \"{name}\" has shape [{string.Join(", ", step.shape)}]; a single number is needed.");
        if (step.dtype == ScalarType.Bool || step.is_complex())
            throw new CheckpointException($"Optimizer state \"{name}\" is {step.dtype}; a number is needed.");
        double value = step.to(ScalarType.Float64).item<double>();
        if (!double.IsFinite(value) || value < 0 || value != Math.Floor(value) || value > long.MaxValue / 2)
            throw new CheckpointException($"Optimizer state \"{name}\" is {value}; a non-negative whole number of steps is needed.");
        return (long)value;
    }
}

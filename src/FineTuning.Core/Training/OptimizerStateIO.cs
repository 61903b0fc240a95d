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

    public static void CopyInto(Tensor target, Tensor source, string name)
    {
        if (!target.shape.SequenceEqual(source.shape))
            throw new CheckpointException($"Optimizer state \"{name}\" has shape [{string.Join(", ", source.shape)}]; this run needs [{string.Join(", ", target.shape)}].");
        target.copy_(source);
    }
}

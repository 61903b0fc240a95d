using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Models;

/// <summary>
/// Strict, shape-checked state-dict loading. TorchSharp's <c>load_state_dict</c> copies with <c>copy_</c>, which
/// broadcasts and converts silently; here a shape mismatch is an error, and all problems are listed together.
/// </summary>
internal static class StateDictLoader
{
    internal static void Load(nn.Module module, IReadOnlyDictionary<string, Tensor> weights, string? ignoredPrefix = null, string prefix = "")
    {
        var problems = new List<string>();
        var targets = module.state_dict().ToDictionary(kv => prefix + kv.Key, kv => kv.Value, StringComparer.Ordinal);
        foreach (KeyValuePair<string, Tensor> target in targets)
        {
            if (!weights.TryGetValue(target.Key, out Tensor? source))
            {
                problems.Add($"missing '{target.Key}'");
            }
            else if (!source.shape.SequenceEqual(target.Value.shape))
            {
                problems.Add($"'{target.Key}' has shape [{string.Join(", ", source.shape)}], expected [{string.Join(", ", target.Value.shape)}]");
            }
        }
        foreach (string name in weights.Keys)
        {
            if (!targets.ContainsKey(name) && (ignoredPrefix is null || !name.StartsWith(ignoredPrefix, StringComparison.Ordinal)))
            {
                problems.Add($"unexpected '{name}'");
            }
        }
        if (problems.Count > 0) throw new FineTuningException($"Cannot load weights into {module.GetName()}: {string.Join("; ", problems)}.");
        using (no_grad())
        {
            foreach (KeyValuePair<string, Tensor> target in targets) target.Value.copy_(weights[target.Key]);
        }
    }
}

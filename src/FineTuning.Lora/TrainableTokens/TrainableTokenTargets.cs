using System;
using System.Collections.Generic;
using System.Linq;
using FineTuning.Adapters;
using TorchSharp;
using TorchSharp.Modules;

namespace FineTuning.Lora.TrainableTokens;

/// <summary>
/// Which modules PEFT's <c>trainable_token_indices</c> names: a list means the input embedding (and, through the tie,
/// an output head that shares its weight); a dictionary maps module names (or name suffixes, e.g. <c>embed_tokens</c>,
/// <c>lm_head</c>) to their own lists.
/// </summary>
internal static class TrainableTokenTargets
{
    internal sealed record Target(string Name, torch.nn.Module Parent, string ChildName, torch.nn.Module<torch.Tensor, torch.Tensor> Module, IReadOnlyList<int> Indices);

    /// <summary>The modules to wrap, or the problems (one sentence each) that stop it.</summary>
    internal static (List<Target> Targets, List<string> Problems) Resolve(torch.nn.Module model, LoRAOptions options)
    {
        var targets = new List<Target>();
        var problems = new List<string>();
        if (options.TrainableTokenIndices.Count == 0 && options.TrainableTokenIndicesByModule.Count == 0) return (targets, problems);
        if (options.TrainableTokenIndices.Count > 0 && options.TrainableTokenIndicesByModule.Count > 0)
        {
            problems.Add("Set trainable_token_indices either as a list (TrainableTokenIndices: the input embedding) or by module (TrainableTokenIndicesByModule), not both.");
            return (targets, problems);
        }

        List<(string Name, torch.nn.Module Parent, string Child, torch.nn.Module Module)> candidates = Candidates(model);
        IEnumerable<(string Pattern, IList<int> Indices)> wanted = options.TrainableTokenIndices.Count > 0
            ? new[] { ("", options.TrainableTokenIndices) }
            : options.TrainableTokenIndicesByModule.Select(kv => (kv.Key, kv.Value));
        foreach ((string pattern, IList<int> indices) in wanted)
        {
            List<(string Name, torch.nn.Module Parent, string Child, torch.nn.Module Module)> hits = pattern.Length == 0
                ? InputEmbedding(candidates)
                : candidates.Where(c => ModuleTargets.NameMatches(c.Name, pattern)).ToList();
            if (hits.Count == 0)
            {
                string known = string.Join(", ", candidates.Select(c => c.Name).Take(20));
                problems.Add(pattern.Length == 0
                    ? $"trainable_token_indices: the model has no input embedding (an Embedding named {string.Join(", ", TokenEmbeddings.InputNames)}); embeddings and linear layers: [{known}]."
                    : $"trainable_token_indices names \"{pattern}\", but no embedding or linear layer has that name; embeddings and linear layers: [{known}].");
                continue;
            }

            foreach (var hit in hits)
            {
                if (hit.Module is IFrozenEmbedding or IFrozenLinear)
                {
                    problems.Add($"trainable_token_indices: \"{hit.Name}\" is stored quantized ({hit.Module.GetType().Name}); trainable tokens over a quantized " +
                                 "embedding or head are not supported yet: leave it out of the quantization targets.");
                    continue;
                }

                if (hit.Module is TrainableTokensWrapper)
                {
                    problems.Add($"trainable_token_indices: \"{hit.Name}\" already has trainable tokens.");
                    continue;
                }

                long rows = Rows(hit.Module);
                string label = pattern.Length == 0 ? "trainable_token_indices" : $"trainable_token_indices[\"{pattern}\"]";
                if (indices.Cast<int?>().FirstOrDefault(i => i < 0 || i >= rows) is int outside)
                    problems.Add($"{label}: token {outside} is outside \"{hit.Name}\"'s {rows} rows (0..{rows - 1}).");
                else if (indices.GroupBy(i => i).FirstOrDefault(g => g.Count() > 1) is { } twice)
                    problems.Add($"{label}: token {twice.Key} is listed twice.");
                else if (indices.Count == 0)
                    problems.Add($"{label}: the list of tokens is empty.");
                else
                    targets.Add(new Target(hit.Name, hit.Parent, hit.Child, (torch.nn.Module<torch.Tensor, torch.Tensor>)hit.Module, indices.ToArray()));
            }
        }

        foreach (Target t in targets)
        {
            string? problem = ModuleSurgery.CheckReplaceable(t.Parent, ParentName(t.Name), t.ChildName, t.Module, typeof(TrainableTokensWrapper));
            if (problem is not null) problems.Add(problem);
        }

        return (targets, problems);
    }

    private static List<(string, torch.nn.Module, string, torch.nn.Module)> InputEmbedding(List<(string Name, torch.nn.Module Parent, string Child, torch.nn.Module Module)> candidates)
    {
        var embeddings = candidates.Where(c => c.Module is Embedding or IFrozenEmbedding or TrainableTokensWrapper { BaseLayer: Embedding }).ToList();
        var named = embeddings.Where(c => TokenEmbeddings.InputNames.Contains(c.Child, StringComparer.Ordinal)).Take(1).ToList();
        return named.Count > 0 ? named : embeddings.Take(1).ToList();
    }

    /// <summary>Every embedding and linear layer with its parent (LoRA layers' own pieces excluded).</summary>
    private static List<(string Name, torch.nn.Module Parent, string Child, torch.nn.Module Module)> Candidates(torch.nn.Module model)
    {
        var found = new List<(string, torch.nn.Module, string, torch.nn.Module)>();
        foreach ((string parentName, torch.nn.Module parent) in model.named_modules().Prepend((string.Empty, model)))
        {
            if (parent is LoRALinear or TrainableTokensLayer) continue;
            foreach ((string childName, torch.nn.Module child) in parent.named_children())
            {
                if (child is not (Embedding or Linear or TrainableTokensWrapper or IFrozenEmbedding or IFrozenLinear)) continue;
                found.Add((parentName.Length == 0 ? childName : parentName + "." + childName, parent, childName, child));
            }
        }

        return found;
    }

    private static long Rows(torch.nn.Module module) => module switch
    {
        Embedding e => e.weight!.shape[0],
        Linear l => l.weight!.shape[0],
        TrainableTokensWrapper w => Rows(w.BaseLayer),
        _ => 0,
    };

    private static string ParentName(string name) => name.LastIndexOf('.') is int dot and >= 0 ? name[..dot] : "";
}

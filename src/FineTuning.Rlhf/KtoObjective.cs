using System;
using System.Collections.Generic;
using System.Linq;
using FineTuning.Rlhf.Data;
using FineTuning.Rlhf.Losses;
using FineTuning.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Rlhf;

/// <summary>
/// Trains a causal LM on unpaired <see cref="KtoExample"/>s with <see cref="KtoLoss"/>. The KL estimate uses mismatched
/// completions fixed once before training as TRL does (example i's prompt with example i+1's completion), so reference
/// log-probabilities can be precomputed. One target per example.
/// </summary>
public sealed class KtoObjective : IPreparingObjective<KtoExample>
{
    private readonly Dictionary<KtoExample, IReadOnlyList<long>> _klCompletion = new(ReferenceEqualityComparer.Instance);
    private readonly ReferenceCache<KtoExample> _referenceCache = new();

    /// <summary>Creates the objective.</summary>
    /// <param name="loss">The KTO loss.</param>
    /// <param name="reference">Precomputed (default) or within a scope (e.g. adapters disabled); not None.</param>
    /// <param name="padTokenId">Id used to pad.</param>
    public KtoObjective(KtoLoss loss, ReferencePolicy? reference = null, long padTokenId = 0)
    {
        ArgumentNullException.ThrowIfNull(loss);
        Loss = loss;
        Reference = reference ?? ReferencePolicy.Precomputed;
        if (Reference == ReferencePolicy.None) throw new ArgumentException("KTO needs a reference policy.", nameof(reference));
        PadTokenId = padTokenId;
    }

    /// <summary>The loss.</summary>
    public KtoLoss Loss { get; }

    /// <summary>The reference policy.</summary>
    public ReferencePolicy Reference { get; }

    /// <summary>Padding id.</summary>
    public long PadTokenId { get; }

    /// <inheritdoc />
    public long CountTargets(IReadOnlyList<KtoExample> examples)
    {
        ArgumentNullException.ThrowIfNull(examples);
        return examples.Count;
    }

    /// <inheritdoc />
    public void Prepare(nn.Module model, IReadOnlyList<KtoExample> data, Device device, bool resuming)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        for (int i = 0; i < data.Count; i++) _klCompletion[data[i]] = data[(i + 1) % data.Count].CompletionIds;
        if (Reference != ReferencePolicy.Precomputed) return;
        if (resuming && data.Any(e => !_referenceCache.Contains(e)))
            throw new CheckpointException("A KTO run with precomputed reference log-probabilities cannot resume in a new process; use ReferencePolicy.WithinScope.");
        _referenceCache.Fill(model, data, chunk => PolicyLogProbs(model, chunk, device));
    }

    /// <inheritdoc />
    public Tensor SummedLoss(nn.Module model, IReadOnlyList<KtoExample> examples, Device device)
    {
        ArgumentNullException.ThrowIfNull(examples);
        using var scope = NewDisposeScope();
        (Tensor policy, Tensor policyKl) = PolicyLogProbs(model, examples, device);
        Tensor reference, referenceKl;
        if (Reference.Scope is { } off)
        {
            using IDisposable disabled = off(model);
            using var noGrad = no_grad();
            (reference, referenceKl) = PolicyLogProbs(model, examples, device);
        }
        else
        {
            (reference, referenceKl) = _referenceCache.Lookup(examples, device,
                "No precomputed reference for this example: KTO examples outside the training data need a scoped reference.");
        }
        Tensor desirable = tensor(examples.Select(e => e.Desirable ? 1f : 0f).ToArray(), device: device);
        return Loss.Loss(policy, reference, policyKl, referenceKl, desirable).sum().MoveToOuterDisposeScope();
    }

    private (Tensor Matched, Tensor Kl) PolicyLogProbs(nn.Module model, IReadOnlyList<KtoExample> examples, Device device)
    {
        int n = examples.Count;
        var sequences = examples.Select(e => (e.PromptIds, e.CompletionIds))
            .Concat(examples.Select(e => (e.PromptIds, _klCompletion.TryGetValue(e, out IReadOnlyList<long>? k) ? k : e.CompletionIds)))
            .ToList();
        (Tensor sum, _) = CompletionLogProbs.Compute(model, sequences, PadTokenId, device);
        return (sum.narrow(0, 0, n), sum.narrow(0, n, n));
    }
}

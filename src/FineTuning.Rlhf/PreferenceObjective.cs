using System;
using System.Collections.Generic;
using System.Linq;
using FineTuning.Evaluation;
using FineTuning.Rlhf.Data;
using FineTuning.Rlhf.Losses;
using FineTuning.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Rlhf;

/// <summary>
/// Trains a causal LM (<c>Module&lt;Tensor, Tensor&gt;</c>: ids [N, T] to logits [N, T, V]) on preference pairs with an
/// <see cref="IPreferenceLoss"/>. Chosen and rejected sequences (prompt + completion, loss only on the completion) run
/// as one right-padded batch; the loss is summed over pairs (one target per pair). Validation records TRL's metrics
/// <c>rewards/chosen</c>, <c>rewards/rejected</c>, <c>rewards/accuracies</c> and <c>rewards/margins</c> (means over the
/// validation pairs of the loss's implicit rewards).
/// </summary>
public sealed class PreferenceObjective : IPreparingObjective<PreferencePair>, IEvaluatingObjective<PreferencePair>
{
    private readonly ReferenceCache<PreferencePair> _referenceCache = new();
    private readonly List<PreferenceMetrics> _history = new();

    /// <summary>Creates the objective.</summary>
    /// <param name="loss">The preference loss.</param>
    /// <param name="reference">Where reference log-probabilities come from; default <see cref="ReferencePolicy.Precomputed"/> when the loss needs them, else none.</param>
    /// <param name="padTokenId">Id used to pad (never a target).</param>
    /// <param name="maxLength">The model's context length; longer pairs are a <see cref="PreferenceDataException"/>.</param>
    public PreferenceObjective(IPreferenceLoss loss, ReferencePolicy? reference = null, long padTokenId = 0, int? maxLength = null)
    {
        ArgumentNullException.ThrowIfNull(loss);
        Loss = loss;
        Reference = reference ?? (loss.NeedsReference ? ReferencePolicy.Precomputed : ReferencePolicy.None);
        if (loss.NeedsReference && Reference == ReferencePolicy.None)
            throw new ArgumentException($"{loss.GetType().Name} needs a reference policy; use ReferencePolicy.Precomputed or WithinScope.", nameof(reference));
        PadTokenId = padTokenId;
        MaxLength = maxLength;
    }

    /// <summary>The loss.</summary>
    public IPreferenceLoss Loss { get; }

    /// <summary>The reference policy.</summary>
    public ReferencePolicy Reference { get; }

    /// <summary>Padding id.</summary>
    public long PadTokenId { get; }

    /// <summary>Context length limit, if any.</summary>
    public int? MaxLength { get; }

    /// <summary>Metrics of every training micro-batch (rewards, margin, accuracy), in order.</summary>
    public IReadOnlyList<PreferenceMetrics> History => _history;

    /// <inheritdoc />
    public long CountTargets(IReadOnlyList<PreferencePair> examples)
    {
        ArgumentNullException.ThrowIfNull(examples);
        return examples.Count;
    }

    /// <inheritdoc />
    public void Prepare(nn.Module model, IReadOnlyList<PreferencePair> data, Device device, bool resuming)
    {
        ArgumentNullException.ThrowIfNull(data);
        Check(data);
        if (Reference != ReferencePolicy.Precomputed) return;
        if (resuming && data.Any(p => !_referenceCache.Contains(p)))
            throw new CheckpointException("A run with precomputed reference log-probabilities cannot resume in a new process: the model no longer is the reference. Use ReferencePolicy.WithinScope (e.g. LoRA.DisableAdapters) to resume.");
        AddReference(model, data, device);
    }

    /// <summary>
    /// Computes and caches reference log-probabilities for <paramref name="pairs"/> with the model as it is now. Call it
    /// before training for validation pairs when using <see cref="ReferencePolicy.Precomputed"/>.
    /// </summary>
    public void AddReference(nn.Module model, IReadOnlyList<PreferencePair> pairs, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(pairs);
        Device on = device ?? model.parameters().First().device;
        _referenceCache.Fill(model, pairs, chunk =>
        {
            (Tensor chosen, Tensor rejected, _, _) = LogProbs(model, chunk, on);
            return (chosen, rejected);
        });
    }

    /// <inheritdoc />
    public Tensor SummedLoss(nn.Module model, IReadOnlyList<PreferencePair> examples, Device device) => Summed(model, examples, device, null);

    /// <inheritdoc />
    public Tensor SummedLoss(nn.Module model, IReadOnlyList<PreferencePair> examples, Device device, PredictionRecorder predictions)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        return Summed(model, examples, device, predictions);
    }

    private Tensor Summed(nn.Module model, IReadOnlyList<PreferencePair> examples, Device device, PredictionRecorder? predictions)
    {
        ArgumentNullException.ThrowIfNull(examples);
        Check(examples);
        using var scope = NewDisposeScope();
        (Tensor chosen, Tensor rejected, Tensor chosenLength, Tensor rejectedLength) = LogProbs(model, examples, device);
        (Tensor? refChosen, Tensor? refRejected) = ReferenceLogProbs(model, examples, device);
        var logProbs = new PreferenceLogProbs(chosen, rejected, refChosen, refRejected, chosenLength, rejectedLength);
        Tensor loss = Loss.Loss(logProbs).sum();
        if (model.training) _history.Add(PreferenceMetrics.From(Loss, logProbs));
        if (predictions is not null) PreferenceMetrics.Record(Loss, logProbs, predictions);
        return loss.MoveToOuterDisposeScope();
    }

    /// <summary>Mean rewards, margin and accuracy (chosen reward above rejected) of the model on <paramref name="pairs"/>.</summary>
    public PreferenceMetrics Evaluate(nn.Module model, IReadOnlyList<PreferencePair> pairs)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(pairs);
        Device device = model.parameters().First().device;
        bool wasTraining = model.training;
        model.eval();
        try
        {
            using var noGrad = no_grad();
            var parts = new List<PreferenceMetrics>();
            foreach (PreferencePair[] chunk in pairs.Chunk(8))
            {
                using var scope = NewDisposeScope();
                (Tensor c, Tensor r, Tensor cl, Tensor rl) = LogProbs(model, chunk, device);
                (Tensor? rc, Tensor? rr) = ReferenceLogProbs(model, chunk, device);
                parts.Add(PreferenceMetrics.From(Loss, new PreferenceLogProbs(c, r, rc, rr, cl, rl)));
            }
            return PreferenceMetrics.Combine(parts);
        }
        finally
        {
            model.train(wasTraining);
        }
    }

    private (Tensor? Chosen, Tensor? Rejected) ReferenceLogProbs(nn.Module model, IReadOnlyList<PreferencePair> examples, Device device)
    {
        if (!Loss.NeedsReference) return (null, null);
        if (Reference.Scope is { } scope)
        {
            using IDisposable off = scope(model);
            using var noGrad = no_grad();
            (Tensor c, Tensor r, _, _) = LogProbs(model, examples, device);
            return (c, r);
        }
        return _referenceCache.Lookup(examples, device,
            "No precomputed reference log-probabilities for this pair: pairs outside the training data (e.g. validation pairs) need PreferenceObjective.AddReference before training.");
    }

    private (Tensor Chosen, Tensor Rejected, Tensor ChosenLength, Tensor RejectedLength) LogProbs(nn.Module model, IReadOnlyList<PreferencePair> pairs, Device device)
    {
        int n = pairs.Count;
        var sequences = pairs.Select(p => (p.PromptIds, p.ChosenIds)).Concat(pairs.Select(p => (p.PromptIds, p.RejectedIds))).ToList();
        (Tensor sum, Tensor count) = CompletionLogProbs.Compute(model, sequences, PadTokenId, device);
        return (sum.narrow(0, 0, n), sum.narrow(0, n, n), count.narrow(0, 0, n), count.narrow(0, n, n));
    }

    private void Check(IReadOnlyList<PreferencePair> pairs)
    {
        if (MaxLength is not { } max) return;
        for (int i = 0; i < pairs.Count; i++)
            if (pairs[i].MaxLength > max)
                throw new PreferenceDataException($"Pair {i} needs {pairs[i].MaxLength} tokens (prompt {pairs[i].PromptIds.Count} + completion), more than the context of {max}.");
    }
}

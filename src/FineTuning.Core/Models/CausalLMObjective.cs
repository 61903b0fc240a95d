using System;
using System.Collections.Generic;
using System.Linq;
using FineTuning.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Models;

/// <summary>
/// Next-token cross-entropy for decoder-only models: right-pads a micro-batch, predicts token t+1 from
/// positions 0..t, and sums the cross-entropy over every label that is not <see cref="TokenSequence.IgnoreIndex"/>.
/// Works with any module mapping token ids [batch, seq] to logits [batch, seq, vocab] under causal
/// attention (right padding never influences earlier positions, so no attention mask is needed).
/// </summary>
public sealed class CausalLMObjective : Evaluation.IEvaluatingObjective<TokenSequence>
{
    /// <summary>Creates the objective.</summary>
    /// <param name="padTokenId">Id written into the padding positions (never learned, never attended to by real tokens).</param>
    public CausalLMObjective(long padTokenId = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(padTokenId);
        PadTokenId = padTokenId;
    }

    /// <summary>Id written into padding positions.</summary>
    public long PadTokenId { get; }

    /// <inheritdoc />
    public long CountTargets(IReadOnlyList<TokenSequence> examples)
    {
        ArgumentNullException.ThrowIfNull(examples);
        return examples.Sum(e => (long)e.TargetCount);
    }

    /// <inheritdoc />
    public Tensor SummedLoss(nn.Module model, IReadOnlyList<TokenSequence> examples, Device device) => Loss(model, examples, device, null);

    /// <inheritdoc />
    public Tensor SummedLoss(nn.Module model, IReadOnlyList<TokenSequence> examples, Device device, Evaluation.PredictionRecorder predictions)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        return Loss(model, examples, device, predictions);
    }

    private Tensor Loss(nn.Module model, IReadOnlyList<TokenSequence> examples, Device device, Evaluation.PredictionRecorder? predictions)
    {
        ArgumentNullException.ThrowIfNull(examples);
        if (model is not nn.Module<Tensor, Tensor> lm)
        {
            throw new ArgumentException($"{nameof(CausalLMObjective)} needs a module mapping token ids to logits (nn.Module<Tensor, Tensor>), got {model?.GetType().Name ?? "null"}.", nameof(model));
        }

        if (examples.Count == 0) throw new ArgumentException("the micro-batch is empty.", nameof(examples));
        int length = examples.Max(e => e.InputIds.Count);
        var ids = new long[examples.Count * length];
        var labels = new long[examples.Count * length];
        Array.Fill(ids, PadTokenId);
        Array.Fill(labels, TokenSequence.IgnoreIndex);
        for (int b = 0; b < examples.Count; b++)
        {
            for (int t = 0; t < examples[b].InputIds.Count; t++)
            {
                ids[(b * length) + t] = examples[b].InputIds[t];
                labels[(b * length) + t] = examples[b].Labels[t];
            }
        }

        using var scope = torch.NewDisposeScope();
        Tensor input = torch.tensor(ids, new long[] { examples.Count, length }, device: device);
        Tensor target = torch.tensor(labels, new long[] { examples.Count, length }, device: device);
        Tensor logits = lm.call(input);
        predictions?.AddNextTokenLogits(logits, target);
        return SummedNextTokenLoss(logits, target).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Cross-entropy (in float32) of the logits at positions 0..T-2 against the labels at 1..T-1, summed over the labels
    /// that are not <see cref="TokenSequence.IgnoreIndex"/>: logits [batch, T, vocab], labels [batch, T].
    /// </summary>
    internal static Tensor SummedNextTokenLoss(Tensor logits, Tensor labels)
    {
        long length = labels.shape[1], vocab = logits.shape[^1];
        using Tensor shiftedLogits = logits.narrow(1, 0, length - 1).reshape(-1, vocab).AtLeastFloat32();
        using Tensor shiftedLabels = labels.narrow(1, 1, length - 1).reshape(-1);
        return nn.functional.cross_entropy(shiftedLogits, shiftedLabels, ignore_index: TokenSequence.IgnoreIndex, reduction: nn.Reduction.Sum);
    }
}

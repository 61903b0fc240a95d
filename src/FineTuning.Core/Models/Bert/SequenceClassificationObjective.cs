using System;
using System.Collections.Generic;
using System.Linq;
using FineTuning.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Models.Bert;

/// <summary>
/// Label cross-entropy for sequence classifiers: pads the examples' ids on the right, runs
/// <c>model(input_ids, attention_mask, token_type_ids)</c> to get logits [batch, num_labels] and returns the
/// cross-entropy SUMMED over examples; one target per example.
/// </summary>
public sealed class SequenceClassificationObjective : Evaluation.IEvaluatingObjective<TextClassificationExample>
{
    /// <summary>Creates the objective.</summary>
    /// <param name="padTokenId">The id used to pad shorter examples (masked out, so any valid id works).</param>
    public SequenceClassificationObjective(int padTokenId = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(padTokenId);
        PadTokenId = padTokenId;
    }

    /// <summary>The id used for padding.</summary>
    public int PadTokenId { get; }

    /// <inheritdoc />
    public long CountTargets(IReadOnlyList<TextClassificationExample> examples)
    {
        ArgumentNullException.ThrowIfNull(examples);
        return examples.Count;
    }

    /// <inheritdoc />
    public Tensor SummedLoss(nn.Module model, IReadOnlyList<TextClassificationExample> examples, Device device) => Loss(model, examples, device, null);

    /// <inheritdoc />
    public Tensor SummedLoss(nn.Module model, IReadOnlyList<TextClassificationExample> examples, Device device, Evaluation.PredictionRecorder predictions)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        return Loss(model, examples, device, predictions);
    }

    private Tensor Loss(nn.Module model, IReadOnlyList<TextClassificationExample> examples, Device device, Evaluation.PredictionRecorder? predictions)
    {
        ArgumentNullException.ThrowIfNull(examples);
        if (model is not nn.Module<Tensor, Tensor, Tensor, Tensor> classifier)
        {
            throw new ArgumentException("The model must map (input_ids, attention_mask, token_type_ids) to logits, as BertForSequenceClassification does.", nameof(model));
        }
        if (examples.Count == 0) throw new ArgumentException("At least one example is needed.", nameof(examples));
        int length = examples.Max(e => e.InputIds.Count);
        IReadOnlyList<int>?[] types = examples.Select(e => e.TokenTypeIds).ToArray();
        (long[] ids, long[] mask, long[] typeIds) = BertBatch.Pad(
            examples.Select(e => e.InputIds).ToArray(),
            types.All(t => t is null) ? null : types.Select((t, i) => t ?? new int[examples[i].InputIds.Count]).ToArray(),
            length,
            PadTokenId);
        using Tensor inputIds = tensor(ids, examples.Count, length, device: device);
        using Tensor attentionMask = tensor(mask, examples.Count, length, device: device);
        using Tensor tokenTypeIds = tensor(typeIds, examples.Count, length, device: device);
        using Tensor labels = tensor(examples.Select(e => (long)e.Label).ToArray(), device: device);
        using Tensor logits = classifier.forward(inputIds, attentionMask, tokenTypeIds);
        long classes = logits.shape[^1];
        if (classes < 2) throw new ArgumentException("Label cross-entropy needs at least 2 labels; a one-label model is a scorer (e.g. a reward model trained with BradleyTerryObjective).", nameof(model));
        int bad = examples.FirstOrDefault(e => e.Label >= classes)?.Label ?? -1;
        if (bad >= 0) throw new ArgumentException($"Label {bad} is out of range for a model with {classes} labels.", nameof(examples));
        predictions?.AddClassLogits(logits, labels);
        return nn.functional.cross_entropy(logits, labels, reduction: nn.Reduction.Sum);
    }
}

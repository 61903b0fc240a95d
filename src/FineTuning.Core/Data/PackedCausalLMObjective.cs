using System;
using System.Collections.Generic;
using System.Linq;
using FineTuning.Generation;
using FineTuning.Models;
using FineTuning.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Data;

/// <summary>
/// Next-token cross-entropy over packed rows: right-pads a micro-batch, gives the model each example's own
/// positions and the block-diagonal causal mask, and sums the loss over labelled positions. Because
/// <see cref="CountTargets"/> counts exactly the targets of the packed examples, the trainer's division by the
/// step's target count makes packed and unpacked training the same objective (tested to the gradient).
/// The model must be an <see cref="ICausalLanguageModel"/> accepting a 4-D bool mask (as <c>LlamaForCausalLM</c>).
/// </summary>
public sealed class PackedCausalLMObjective : Evaluation.IEvaluatingObjective<PackedSequence>
{
    /// <summary>Creates the objective.</summary>
    /// <param name="padTokenId">Id written into padding positions (never learned, attended only by padding).</param>
    public PackedCausalLMObjective(long padTokenId = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(padTokenId);
        PadTokenId = padTokenId;
    }

    /// <summary>Id written into padding positions.</summary>
    public long PadTokenId { get; }

    /// <summary>Tokens per chunk of the output head and cross-entropy; null (default) chooses by vocabulary, 0 computes the full logits. As <see cref="CausalLMObjective.LossChunkSize"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public int? LossChunkSize
    {
        get => _lossChunkSize;
        init => _lossChunkSize = LinearCrossEntropy.CheckedChunkSize(value);
    }

    private readonly int? _lossChunkSize;

    /// <inheritdoc />
    public long CountTargets(IReadOnlyList<PackedSequence> examples)
    {
        ArgumentNullException.ThrowIfNull(examples);
        return examples.Sum(e => (long)e.TargetCount);
    }

    /// <inheritdoc />
    public Tensor SummedLoss(nn.Module model, IReadOnlyList<PackedSequence> examples, Device device) => Loss(model, examples, device, null);

    /// <inheritdoc />
    public Tensor SummedLoss(nn.Module model, IReadOnlyList<PackedSequence> examples, Device device, Evaluation.PredictionRecorder predictions)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        return Loss(model, examples, device, predictions);
    }

    private Tensor Loss(nn.Module model, IReadOnlyList<PackedSequence> examples, Device device, Evaluation.PredictionRecorder? predictions)
    {
        ArgumentNullException.ThrowIfNull(examples);
        if (model is not ICausalLanguageModel lm)
        {
            throw new ArgumentException($"{nameof(PackedCausalLMObjective)} needs an {nameof(ICausalLanguageModel)} that accepts a 4-D attention mask, got {model?.GetType().Name ?? "null"}.", nameof(model));
        }

        if (examples.Count == 0) throw new ArgumentException("the micro-batch is empty.", nameof(examples));
        int batch = examples.Count;
        int length = examples.Max(e => e.Length);
        var ids = new long[batch * length];
        var labels = new long[batch * length];
        var positions = new long[batch * length];
        var sequences = new long[batch * length]; // 0 = padding: a block of its own
        Array.Fill(ids, PadTokenId);
        Array.Fill(labels, TokenSequence.IgnoreIndex);
        for (int b = 0; b < batch; b++)
        {
            PackedSequence row = examples[b];
            for (int t = 0; t < row.Length; t++)
            {
                int at = (b * length) + t;
                ids[at] = row.InputIds[t];
                labels[at] = row.Labels[t];
                positions[at] = row.PositionIds[t];
                sequences[at] = row.SequenceIds[t];
            }

            for (int t = row.Length; t < length; t++) positions[(b * length) + t] = t - row.Length;
        }

        using var scope = torch.NewDisposeScope();
        long[] shape = { batch, length };
        Tensor input = torch.tensor(ids, shape, device: device);
        Tensor target = torch.tensor(labels, shape, device: device);
        Tensor mask = PackedAttention.BlockDiagonalCausalMask(torch.tensor(sequences, shape, device: device));
        Tensor positionIds = torch.tensor(positions, shape, device: device);
        return CausalLMObjective.SummedNextTokenLoss(model, LossChunkSize, input, target, mask, positionIds,
            () => lm.Forward(input, mask, positionIds), predictions).MoveToOuterDisposeScope();
    }
}

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

    /// <summary>
    /// Tokens per chunk of the output head and cross-entropy when the model can stop before its head (LLaMA, GPT-2
    /// with a plain or tied head): only [chunk, vocab] logits exist at a time instead of [tokens, vocab], with exact
    /// gradients. Null (default) chooses by vocabulary: about 32M logits per chunk, between 256 and 1,024 tokens
    /// (1,024 up to a 32k vocabulary, 261 at 128k); smaller chunks multiply small matrix products and were measured
    /// slower. 0 computes the full logits (as <c>model(input_ids)</c>). See docs/training.md for memory and time.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public int? LossChunkSize
    {
        get => _lossChunkSize;
        init => _lossChunkSize = LinearCrossEntropy.CheckedChunkSize(value);
    }

    private readonly int? _lossChunkSize;

    /// <summary>
    /// Let the chunked loss use its float32 C# loop where it applies (default); false keeps libtorch's ops (the
    /// benchmark's before/after switch).
    /// </summary>
    internal bool LossKernel { get; init; } = true;

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
        return SummedNextTokenLoss(model, LossChunkSize, input, target, null, null, () => lm.call(input), predictions, LossKernel).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The summed next-token loss of <paramref name="model"/> on <paramref name="input"/>: chunked from the hidden
    /// states when the model allows it and <paramref name="chunkSize"/> is not 0 (null: automatic), else from <paramref name="logits"/>().
    /// </summary>
    /// <remarks>
    /// With <paramref name="predictions"/> (evaluation, no gradients) each row's logits are also built to record the
    /// predicted tokens, but the loss is computed exactly as without them, so a metric pass and a plain pass agree bit for bit.
    /// </remarks>
    internal static Tensor SummedNextTokenLoss(nn.Module model, int? chunkSize, Tensor input, Tensor labels, Tensor? mask, Tensor? positions, Func<Tensor> logits,
        Evaluation.PredictionRecorder? predictions = null, bool kernel = true)
    {
        if (chunkSize != 0 && model is ICausalLMHiddenStates lm && lm.OutputHead() is OutputHead head)
        {
            using Tensor hidden = lm.ForwardHiddenStates(input, mask, positions);
            if (predictions is not null)
            {
                // One row's logits at a time: evaluation keeps the chunked loss's memory bound ([T, vocab], not [tokens, vocab]).
                for (long row = 0; row < hidden.shape[0]; row++)
                {
                    using Tensor rowHidden = hidden[row];
                    using Tensor logits2d = head.Logits(rowHidden);
                    using Tensor rowLogits = logits2d.unsqueeze(0);
                    using Tensor rowLabels = labels.narrow(0, row, 1);
                    predictions.AddNextTokenLogits(rowLogits, rowLabels);
                }
            }

            return LinearCrossEntropy.SummedNextTokenLoss(hidden, head, labels, chunkSize ?? LinearCrossEntropy.AutomaticChunkSize(head.Vocab), kernel);
        }

        using Tensor full = logits();
        predictions?.AddNextTokenLogits(full, labels);
        return SummedNextTokenLoss(full, labels);
    }

    /// <summary>
    /// Cross-entropy (in float32) of the logits at positions 0..T-2 against the labels at 1..T-1, summed over the labels
    /// that are not <see cref="TokenSequence.IgnoreIndex"/>: logits [batch, T, vocab], labels [batch, T]. The labels are
    /// shifted (the last position ignored) rather than the logits narrowed, which would copy them.
    /// </summary>
    internal static Tensor SummedNextTokenLoss(Tensor logits, Tensor labels)
    {
        using Tensor flat = logits.reshape(-1, logits.shape[^1]).AtLeastFloat32();
        using Tensor shifted = LinearCrossEntropy.ShiftLeft(labels);
        using Tensor shiftedLabels = shifted.reshape(-1);
        return nn.functional.cross_entropy(flat, shiftedLabels, ignore_index: TokenSequence.IgnoreIndex, reduction: nn.Reduction.Sum);
    }
}

using System;
using FineTuning.Adapters;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Models;

/// <summary>
/// The output head of the chunked loss (<see cref="LinearCrossEntropy"/>): a dense bias-free weight [vocab, hidden]
/// (plain, tied or trainable), or a frozen layer stored in another form (a quantized <c>lm_head</c>), which is read in
/// blocks of <see cref="FrozenBlockValues"/> values so that no dense copy of the whole head ever exists. A frozen head
/// gets no gradient; the hidden states get theirs either way.
/// </summary>
internal sealed class OutputHead
{
    /// <summary>Values of a frozen head made dense at a time: 2^22 (16 MiB in fp32; 4,096 rows at hidden 1,024).</summary>
    internal const long FrozenBlockValues = 1L << 22;

    private readonly long _blockValues;

    private OutputHead(Tensor? weight, IFrozenLinear? frozen, long vocab, long hidden, long blockValues = FrozenBlockValues)
    {
        _blockValues = blockValues;
        Weight = weight;
        Frozen = frozen;
        Vocab = vocab;
        Hidden = hidden;
    }

    /// <summary>The dense weight [vocab, hidden], or null for a frozen head.</summary>
    public Tensor? Weight { get; }

    /// <summary>The frozen head, or null for a dense weight.</summary>
    public IFrozenLinear? Frozen { get; }

    /// <summary>Output size (rows of the weight).</summary>
    public long Vocab { get; }

    /// <summary>Input size (columns of the weight).</summary>
    public long Hidden { get; }

    /// <summary>Rows of a frozen head made dense at a time.</summary>
    public long BlockRows => Math.Max(1, _blockValues / Math.Max(1, Hidden));

    /// <summary>A dense weight [vocab, hidden].</summary>
    public static OutputHead Dense(Tensor weight) => new(weight, null, weight.shape[0], weight.shape[1]);

    /// <summary>A frozen bias-free layer, read in blocks of about <paramref name="blockValues"/> values (default <see cref="FrozenBlockValues"/>).</summary>
    public static OutputHead Of(IFrozenLinear frozen, long blockValues = FrozenBlockValues) => new(null, frozen, frozen.OutFeatures, frozen.InFeatures, blockValues);

    /// <summary>The logits h W^T as a new [rows, vocab] tensor of h's dtype (h: [rows, hidden]).</summary>
    public Tensor Logits(Tensor h)
    {
        if (Weight is not null) return h.matmul(Weight.t());
        Tensor logits = empty(new[] { h.shape[0], Vocab }, h.dtype, h.device);
        RowBlocks.Product(h, logits, Vocab, BlockRows, (start, count) => Frozen!.DenseWeightRows(start, count, h.dtype));
        return logits;
    }

    /// <summary>Writes d W into <paramref name="gh"/> (d: [rows, vocab] in gh's dtype; gh: [rows, hidden], overwritten).</summary>
    public void InputGradientInto(Tensor d, Tensor gh)
    {
        if (Weight is not null) gh.addmm_(d, Weight, beta: 0, alpha: 1);
        else RowBlocks.InputGradient(d, gh, Vocab, BlockRows, (start, count) => Frozen!.DenseWeightRows(start, count, gh.dtype));
    }
}

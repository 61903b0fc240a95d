using System;
using System.Linq;
using FineTuning.Core.Tests.Models.Llama;
using FineTuning.Models;
using FineTuning.Models.Gpt2;
using FineTuning.Models.Llama;
using FineTuning.Testing;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Core.Tests.Models;

public sealed class LinearCrossEntropyTests
{
    [Fact]
    public void ShiftLeft_MovesLabelsOneStepAndIgnoresTheLast()
    {
        using var scope = NewDisposeScope();
        Tensor labels = tensor(new long[] { 1, 2, 3, -100, 5, 6 }, new long[] { 2, 3 });
        Assert.Equal(new long[] { 2, 3, -100, 5, 6, -100 }, LinearCrossEntropy.ShiftLeft(labels).data<long>().ToArray());
        Assert.Equal(new long[] { -100, -100 }, LinearCrossEntropy.ShiftLeft(tensor(new long[] { 7, 8 }, new long[] { 2, 1 })).data<long>().ToArray());
    }

    [Fact]
    public void SummedNextTokenLoss_TwoTokens_EqualsHandComputedValueAndGradients()
    {
        // h = [[1, 0], [0, 2]], W = [[1, 0], [0, 1], [1, 1]]: logits [1, 0, 1] and [0, 2, 2]; labels shifted: row 0 -> 1, row 1 ignored.
        using var scope = NewDisposeScope();
        Tensor h = tensor(new double[] { 1, 0, 0, 2 }, new long[] { 1, 2, 2 }).requires_grad_(true);
        Tensor w = tensor(new double[] { 1, 0, 0, 1, 1, 1 }, new long[] { 3, 2 }).requires_grad_(true);
        Tensor labels = tensor(new long[] { 0, 1 }, new long[] { 1, 2 });
        Tensor loss = LinearCrossEntropy.SummedNextTokenLoss(h, w, labels, chunkSize: 1);
        double z = Math.Exp(1) + 1 + Math.Exp(1);
        Assert.Equal(Math.Log(z) - 0, loss.item<double>(), 1e-14);
        loss.backward();
        double[] p = { Math.Exp(1) / z, 1 / z, Math.Exp(1) / z };
        double[] dlogits = { p[0], p[1] - 1, p[2] };
        // dh_0 = dlogits W, dh_1 = 0; dW = dlogits^T h_0.
        double[] expectedH = { dlogits[0] + dlogits[2], dlogits[1] + dlogits[2], 0, 0 };
        double[] expectedW = { dlogits[0], 0, dlogits[1], 0, dlogits[2], 0 };
        AssertClose(expectedH, h.grad!.data<double>().ToArray(), 1e-14);
        AssertClose(expectedW, w.grad!.data<double>().ToArray(), 1e-14);
    }

    [Fact]
    public void SummedNextTokenLoss_EveryLabelIgnored_IsZeroWithZeroGradients()
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(3);
        Tensor h = randn(new long[] { 2, 5, 4 }, ScalarType.Float64, generator: g).requires_grad_(true);
        Tensor w = randn(new long[] { 7, 4 }, ScalarType.Float64, generator: g).requires_grad_(true);
        Tensor labels = full(new long[] { 2, 5 }, -100L);
        Tensor loss = LinearCrossEntropy.SummedNextTokenLoss(h, w, labels, chunkSize: 3);
        Assert.Equal(0.0, loss.item<double>());
        loss.backward();
        Assert.Equal(0.0, h.grad!.abs().sum().item<double>());
        Assert.Equal(0.0, w.grad!.abs().sum().item<double>());
    }

    [Property(MaxTest = 40)]
    public Property Chunked_AnyShapeAndChunk_EqualsPlainLossAndGradients(PositiveInt batch, PositiveInt length, PositiveInt hidden, PositiveInt vocab, PositiveInt chunk, int seed, bool frozenWeight)
    {
        long b = 1 + (batch.Get % 3), t = 1 + (length.Get % 9), d = 1 + (hidden.Get % 8), v = 2 + (vocab.Get % 40), c = 1 + (chunk.Get % 12);
        using var scope = NewDisposeScope();
        using var g = new Generator((ulong)(uint)seed);
        Tensor h = randn(new long[] { b, t, d }, ScalarType.Float64, generator: g).requires_grad_(true);
        Tensor w = randn(new long[] { v, d }, ScalarType.Float64, generator: g).requires_grad_(!frozenWeight);
        Tensor labels = randint(v, new long[] { b, t }, generator: g);
        Tensor ignored = rand(new long[] { b, t }, generator: g).lt(0.3);
        labels = labels.masked_fill(ignored, -100L);

        // Reference: the full logits through the plain loss (label shifting as before: narrowed logits).
        Tensor hRef = h.detach().requires_grad_(true);
        Tensor wRef = w.detach().requires_grad_(!frozenWeight);
        Tensor logits = nn.functional.linear(hRef, wRef);
        Tensor expected = t > 1
            ? nn.functional.cross_entropy(logits.narrow(1, 0, t - 1).reshape(-1, v), labels.narrow(1, 1, t - 1).reshape(-1), ignore_index: -100, reduction: nn.Reduction.Sum)
            : logits.sum().mul(0.0);
        expected.backward();
        Tensor actual = LinearCrossEntropy.SummedNextTokenLoss(h, w, labels, c);
        actual.backward();

        double scale = Math.Max(1, Math.Abs(expected.item<double>()));
        bool same = Math.Abs(expected.item<double>() - actual.item<double>()) <= Tolerance.Fp64Same(scale)
            && Close(hRef.grad!, h.grad!)
            && (frozenWeight ? w.grad is null : Close(wRef.grad!, w.grad!));
        return same.ToProperty().Label($"b={b} t={t} d={d} v={v} chunk={c} frozen={frozenWeight}");
    }

    [Property(MaxTest = 40)]
    public Property FrozenHead_InBlocksOfRows_EqualsDenseHeadLossAndHiddenGradient(PositiveInt batch, PositiveInt length, PositiveInt hidden, PositiveInt vocab, PositiveInt chunk, PositiveInt block, int seed)
    {
        // A frozen head stored in another form (a quantized lm_head) is read a block of rows at a time: the loss and the
        // hidden-state gradient must be those of its dense weight, whatever the token chunks and the row blocks.
        long b = 1 + (batch.Get % 3), t = 2 + (length.Get % 8), d = 1 + (hidden.Get % 8), v = 2 + (vocab.Get % 40), c = 1 + (chunk.Get % 12);
        long blockRows = 1 + (block.Get % (v + 2));
        using var scope = NewDisposeScope();
        using var g = new Generator((ulong)(uint)seed);
        Tensor h = randn(new long[] { b, t, d }, ScalarType.Float64, generator: g).requires_grad_(true);
        Tensor w = randn(new long[] { v, d }, ScalarType.Float64, generator: g);
        Tensor labels = randint(v, new long[] { b, t }, generator: g).masked_fill(rand(new long[] { b, t }, generator: g).lt(0.3), -100L);
        Tensor hRef = h.detach().requires_grad_(true);
        Tensor expected = LinearCrossEntropy.SummedNextTokenLoss(hRef, w, labels, c);
        expected.backward();
        var head = new DenseFrozenLinear(w);
        Tensor actual = LinearCrossEntropy.SummedNextTokenLoss(h, OutputHead.Of(head, blockValues: blockRows * d), labels, c);
        actual.backward();
        double scale = Math.Max(1, Math.Abs(expected.item<double>()));
        bool same = Math.Abs(expected.item<double>() - actual.item<double>()) <= Tolerance.Fp64Same(scale) && Close(hRef.grad!, h.grad!) && head.RowsRead > 0;
        return same.ToProperty().Label($"b={b} t={t} d={d} v={v} chunk={c} blockRows={blockRows}");
    }

    [Fact]
    public void FrozenHead_WithoutGradients_GivesTheSameLoss()
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(5);
        Tensor h = randn(new long[] { 2, 6, 4 }, ScalarType.Float64, generator: g);
        Tensor w = randn(new long[] { 11, 4 }, ScalarType.Float64, generator: g);
        Tensor labels = randint(11, new long[] { 2, 6 }, generator: g);
        double expected = LinearCrossEntropy.SummedNextTokenLoss(h, w, labels, 5).item<double>();
        using (no_grad())
        {
            double actual = LinearCrossEntropy.SummedNextTokenLoss(h, OutputHead.Of(new DenseFrozenLinear(w), blockValues: 12), labels, 5).item<double>();
            Assert.Equal(expected, actual, Tolerance.Fp64Same(Math.Abs(expected)));
        }
    }

    /// <summary>A frozen head backed by a dense weight: the default <c>DenseWeightRows</c> copies rows of <c>DenseWeight</c>.</summary>
    private sealed class DenseFrozenLinear(Tensor weight) : FineTuning.Adapters.IFrozenLinear
    {
        public long InFeatures => weight.shape[1];

        public long OutFeatures => weight.shape[0];

        public long RowsRead { get; private set; }

        public Tensor DenseWeight(ScalarType dtype)
        {
            RowsRead += weight.shape[0];
            return weight.to(dtype).clone();
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void CausalLMObjective_ChunkedDefault_EqualsFullLogits_LlamaPlainAndTiedHead(bool tied)
    {
        using LlamaForCausalLM model = TinyLlama.Create(TinyLlama.Config(tied: tied), dtype: ScalarType.Float64);
        AssertObjectiveChunkingChangesNothing(model);
    }

    [Fact]
    public void CausalLMObjective_ChunkedDefault_EqualsFullLogits_Gpt2()
    {
        using var model = new Gpt2LMHeadModel(new Gpt2Config { VocabSize = 32, NPositions = 16, NEmbd = 16, NLayer = 1, NHead = 2, AttnPdrop = 0, ResidPdrop = 0, EmbdPdrop = 0 });
        using (var g = new Generator(8)) model.InitializeWeights(g, std: 0.3);
        model.to(ScalarType.Float64);
        AssertObjectiveChunkingChangesNothing(model);
    }

    [Fact]
    public void LossChunkSize_Negative_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new CausalLMObjective { LossChunkSize = -1 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new FineTuning.Data.PackedCausalLMObjective { LossChunkSize = -1 });
        Assert.Null(new CausalLMObjective().LossChunkSize); // automatic
    }

    [Theory]
    [InlineData(67, 1024)]
    [InlineData(8000, 1024)]
    [InlineData(32768, 1024)]
    [InlineData(65536, 512)]
    [InlineData(128256, 261)]
    [InlineData(1_000_000, 256)]
    public void AutomaticChunkSize_AboutThirtyTwoMillionLogits_Between256And1024(long vocab, int expected)
    {
        Assert.Equal(expected, LinearCrossEntropy.AutomaticChunkSize(vocab));
    }

    [Fact]
    public void CausalLMObjective_AutomaticChunk_EqualsFullLogits()
    {
        using LlamaForCausalLM model = TinyLlama.Create(TinyLlama.Config(), dtype: ScalarType.Float64);
        (double lossFull, var gradsFull) = LossAndGradients(model, new CausalLMObjective { LossChunkSize = 0 });
        (double lossAuto, var gradsAuto) = LossAndGradients(model, new CausalLMObjective());
        Assert.Equal(lossFull, lossAuto, Tolerance.Fp64Same(lossFull));
        GradientParity.AssertSame(gradsFull, gradsAuto);
    }

    private static void AssertObjectiveChunkingChangesNothing(nn.Module model)
    {
        var full = new CausalLMObjective { LossChunkSize = 0 };
        var chunked = new CausalLMObjective { LossChunkSize = 4 }; // 3 rows of 7 tokens: chunks cut across rows
        (double lossFull, var gradsFull) = LossAndGradients(model, full);
        (double lossChunked, var gradsChunked) = LossAndGradients(model, chunked);
        Assert.Equal(lossFull, lossChunked, Tolerance.Fp64Same(lossFull));
        GradientParity.AssertSame(gradsFull, gradsChunked);
    }

    private static (double Loss, System.Collections.Generic.Dictionary<string, double[]> Grads) LossAndGradients(nn.Module model, CausalLMObjective objective)
    {
        double loss = 0;
        var grads = GradientParity.Gradients(model, m =>
        {
            Tensor l = objective.SummedLoss(m, Training.GradientCheckpointingTests.Batch, CPU);
            loss = l.item<double>();
            return l;
        }, checkpoint: false, null);
        return (loss, grads);
    }

    private static bool Close(Tensor expected, Tensor actual)
    {
        double scale = expected.abs().max().item<double>();
        return expected.sub(actual).abs().max().item<double>() <= Tolerance.Fp64Same(scale);
    }

    private static void AssertClose(double[] expected, double[] actual, double tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance, $"[{i}]: {expected[i]} vs {actual[i]}");
    }
}

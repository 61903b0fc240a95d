using System;
using System.Collections.Generic;
using System.Linq;
using FineTuning.Models.Bert;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace FineTuning.Models.Tests.Bert;

/// <summary>Our TorchSharp BERT against ONNX Runtime running the same all-MiniLM-L6-v2 ONNX graph.</summary>
[Collection(MiniLMCollection.Name)]
public sealed class MiniLMParityTests
{
    /// <summary>
    /// Two float32 implementations of a 6-layer encoder (reductions of 384 and 1536 terms, values up to ~10) sum in
    /// different orders: per layer about sqrt(K) u |x| ~ 1e-5 of rounding, times 6 layers, gives the 1e-4 allowed here
    /// (measured ~1e-6 on Xeon and EPYC kernels); a wrong weight, mask or norm moves values by 1e-2 or more.
    /// </summary>
    private const double Tolerance = 1e-4;
    private static readonly object Gate = new();
    private static List<ParityRun>? s_runs;
    private readonly MiniLMFixture _fixture;
    private readonly ITestOutputHelper _output;

    public MiniLMParityTests(MiniLMFixture fixture, ITestOutputHelper output)
    {
        _fixture = fixture;
        _output = output;
    }

    /// <summary>The 24 sentences in three padded batches of 8, computed once for all tests here.</summary>
    private List<ParityRun> Runs()
    {
        lock (Gate)
        {
            return s_runs ??= ParitySentences.All.Chunk(8).Select(chunk => ParityRun.Compute(_fixture, chunk)).ToList();
        }
    }

    [Fact]
    public void MeanPooledEmbeddings_TwentyFourSentencesInPaddedBatches_MatchOnnxRuntime()
    {
        List<ParityRun> runs = Runs();
        Assert.Equal(24, runs.Sum(r => r.Batch.Count));
        Assert.All(runs, r => Assert.Contains(r.Batch.Encodings, e => e.Length < r.Batch.SequenceLength)); // every batch pads
        double max = runs.Max(r => ParityRun.MaxAbsDiff(r.OursMean, r.OrtMean));
        _output.WriteLine($"mean-pooled embeddings: max |ours - onnxruntime| = {max:E3} over {runs.Sum(r => r.OursMean.Length)} values");
        Assert.True(max <= Tolerance, $"max abs diff {max:E3} > {Tolerance}");
        // Not a trivially small signal: the embeddings have entries of order 0.1 to 1.
        Assert.True(runs.Max(r => r.OrtMean.Max(Math.Abs)) > 0.1f);
    }

    [Fact]
    public void LastHiddenState_EveryPositionIncludingPadding_MatchesOnnxRuntime()
    {
        double max = Runs().Max(r => ParityRun.MaxAbsDiff(r.OursHidden, r.OrtHidden));
        double scale = Runs().Max(r => r.OrtHidden.Max(Math.Abs));
        double real = Runs().Max(r => Enumerable.Range(0, r.OursHidden.Length)
            .Where(i => i / ParityRun.Hidden % r.Batch.SequenceLength < r.Batch.Encodings[i / ParityRun.Hidden / r.Batch.SequenceLength].Length)
            .Max(i => Math.Abs((double)r.OursHidden[i] - r.OrtHidden[i])));
        _output.WriteLine($"last_hidden_state: max |ours - onnxruntime| = {max:E3} (real tokens only {real:E3}), largest |value| = {scale:F2}");
        Assert.True(max <= Tolerance, $"max abs diff {max:E3} > {Tolerance}");
    }

    [Fact]
    public void Pooler_TanhDenseOfCls_MatchesOnnxRuntime()
    {
        double max = Runs().Max(r => ParityRun.MaxAbsDiff(r.OursPooled, r.OrtPooled));
        _output.WriteLine($"pooler output: max |ours - onnxruntime| = {max:E3}");
        Assert.True(max <= Tolerance, $"max abs diff {max:E3} > {Tolerance}");
    }

    [Fact]
    public void MeanPooledEmbedding_AloneAndInsidePaddedBatch_Agree()
    {
        ParityRun batched = Runs()[0];
        int row = Enumerable.Range(0, batched.Batch.Count).First(i => batched.Batch.Encodings[i].Length < batched.Batch.SequenceLength);
        ParityRun alone = ParityRun.Compute(_fixture, [ParitySentences.All[row]]);
        float[] inBatch = batched.OursMean.Skip(row * ParityRun.Hidden).Take(ParityRun.Hidden).ToArray();
        double max = ParityRun.MaxAbsDiff(alone.OursMean, inBatch);
        // The padded row runs other kernel shapes than the row alone: the same float32 rounding bound as above applies.
        Assert.True(max <= Tolerance, $"padding changed the embedding by {max:E3}");
    }

    [Fact]
    public void Embeddings_SimilarSentencesAreCloser_AsAPretrainedModelShould()
    {
        string[] sentences = ["A man is eating food.", "A man is eating a piece of bread.", "The stock market fell sharply today."];
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        BertBatch batch = _fixture.Tokenizer.EncodeBatch(sentences);
        Tensor mask = batch.AttentionMask();
        Tensor e = BertPooling.L2Normalize(BertPooling.Mean(_fixture.Model.forward(batch.InputIds(), mask, batch.TokenTypeIds()), mask));
        float[] flat = e.matmul(e.t()).data<float>().ToArray();
        double related = flat[1], unrelated = flat[2];
        _output.WriteLine($"cos(food, bread) = {related:F4}, cos(food, stocks) = {unrelated:F4}");
        Assert.True(related > unrelated + 0.3, $"related {related:F4}, unrelated {unrelated:F4}");
        Assert.Equal(1.0, flat[0], tolerance: 1e-4);
    }
}

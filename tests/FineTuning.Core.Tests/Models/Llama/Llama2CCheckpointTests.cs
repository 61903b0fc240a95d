using System;
using System.IO;
using System.Linq;
using FineTuning.Models;
using FineTuning.Models.Llama;
using FineTuning.Testing;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Core.Tests.Models.Llama;

public sealed class Llama2CCheckpointTests : IDisposable
{
    private readonly TempDirectory dir = new("finetuning-llama2c-");

    public void Dispose() => dir.Dispose();

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Load_SyntheticCheckpoint_LogitsMatchPairwiseRopeReference(bool shared)
    {
        var reference = new Llama2CReference(seed: shared ? 1 : 2, shared);
        string path = Path.Combine(dir.Path, "tiny.bin");
        reference.Write(path);
        int[] tokens = { 1, 5, 9, 3, 17, 0, 12, 19 };

        // Our model in float64 against the reference's double arithmetic: what remains is the rotary tables, which are
        // computed in float32 as in HF (angle pos * inv_freq rounded to ~1e-7 relative for these 8 positions), so logits may
        // differ by a few 1e-7 relative; 1e-5 relative leaves room without hiding a wrong weight, head or rotation (>= 1e-2).
        using LlamaForCausalLM model = Llama2CCheckpoint.Load(path);
        model.to(ScalarType.Float64);
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        double[] logits = model.forward(torch.tensor(tokens.Select(t => (long)t).ToArray(), new long[] { 1, tokens.Length })).data<double>().ToArray();
        double[][] expected = reference.Forward(tokens);

        Assert.Equal(shared, model.Config.TieWordEmbeddings);
        Assert.Equal(2, model.Config.NumKeyValueHeads);
        for (int pos = 0; pos < tokens.Length; pos++)
        {
            for (int v = 0; v < Llama2CReference.Vocab; v++)
            {
                double actual = logits[(pos * Llama2CReference.Vocab) + v];
                Assert.True(Math.Abs(actual - expected[pos][v]) <= 1e-5 * (1 + Math.Abs(expected[pos][v])), $"position {pos}, token {v}: {actual} vs {expected[pos][v]}");
            }
        }
    }

    [Fact]
    public void Load_TruncatedCheckpoint_ThrowsNamingFile()
    {
        string path = Path.Combine(dir.Path, "truncated.bin");
        new Llama2CReference(seed: 3, shared: true).Write(path);
        using (var stream = new FileStream(path, FileMode.Open)) stream.SetLength(stream.Length - 10);

        ModelFileException e = Assert.Throws<ModelFileException>(() => Llama2CCheckpoint.Load(path));

        Assert.Equal(path, e.FilePath);
        Assert.Contains("truncated", e.Message, StringComparison.Ordinal);
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_ShorterThanHeader_ThrowsNamingFile()
    {
        string path = Path.Combine(dir.Path, "short.bin");
        File.WriteAllBytes(path, new byte[] { 64, 0, 0 });

        ModelFileException e = Assert.Throws<ModelFileException>(() => Llama2CCheckpoint.Load(path));

        Assert.Contains(path, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(-64, 172, 5, 8, 4, 512, 512, "dim=-64")]
    [InlineData(64, 172, 5, 0, 4, 512, 512, "n_heads=0")]
    [InlineData(64, 172, 5, 8, 3, 512, 512, "inconsistent heads")]
    [InlineData(0x616b3432, 1, 1, 1, 1, 1, 1, "dim=1634415666")] // llama2.c version 1+ magic read as dim
    public void Load_ImpossibleHeader_ThrowsNamingFileAndValue(int dim, int hidden, int layers, int heads, int kvHeads, int vocab, int seqLen, string mentioned)
    {
        string path = Path.Combine(dir.Path, "bad-header.bin");
        using (var writer = new BinaryWriter(File.Create(path)))
        {
            foreach (int v in new[] { dim, hidden, layers, heads, kvHeads, vocab, seqLen }) writer.Write(v);
            writer.Write(new byte[4096]);
        }

        ModelFileException e = Assert.Throws<ModelFileException>(() => Llama2CCheckpoint.Load(path));

        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains(mentioned, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PairwiseToRotateHalf_OneHead_InterleavesEvenThenOddRows()
    {
        // Rows of one head of width 4 in llama2.c order (pairs (0,1), (2,3)) become HF order (0, 2 | 1, 3).
        using var w = torch.arange(4 * 2, dtype: ScalarType.Float32).view(4, 2);
        using Tensor permuted = Llama2CCheckpoint.PairwiseToRotateHalf(w, heads: 1, headDim: 4);

        Assert.Equal(new float[] { 0, 1, 4, 5, 2, 3, 6, 7 }, permuted.data<float>().ToArray());
    }
}

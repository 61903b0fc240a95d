using System;
using System.IO;
using System.Linq;
using FineTuning.Models;
using FineTuning.Models.Llama;
using FineTuning.Sft;
using FineTuning.Testing;
using FineTuning.Training;
using Microsoft.Extensions.Logging;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Core.Tests.Sft;

/// <summary>Untrained end-of-turn rows: the two statistics, and the warning of a run that leaves such a row untouched.</summary>
public sealed class UntrainedTokensTests : IDisposable
{
    private readonly TempDirectory _dir = new("untrained");

    public void Dispose() => _dir.Dispose();

    private static void SetRows(LlamaForCausalLM model, Action<Tensor> change)
    {
        using var noGrad = no_grad();
        change(model.named_parameters().Single(p => p.name == "model.embed_tokens.weight").parameter);
    }

    [Fact]
    public void Find_RandomRows_NoneFlagged()
    {
        using LlamaForCausalLM model = SftFixture.Model();
        Assert.Empty(UntrainedTokens.Find(model, Enumerable.Range(0, 259)));
    }

    [Fact]
    public void Find_ZeroRow_FlaggedAsAllButZero()
    {
        using LlamaForCausalLM model = SftFixture.Model();
        SetRows(model, w => w[2].zero_());

        UntrainedToken found = Assert.Single(UntrainedTokens.Find(model, new[] { 1, 2, 3 }));

        Assert.Equal((2, "model.embed_tokens"), (found.Id, found.Module));
        Assert.Contains("below 10 % of the median row norm", found.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(8, true)] // the token's row and 8 others the same: never told apart
    [InlineData(7, false)] // one fewer than ClusterSize: could be a few genuinely similar tokens
    public void Find_RowSharedWithOthers_FlaggedFromClusterSize(int others, bool flagged)
    {
        using LlamaForCausalLM model = SftFixture.Model();
        // Rows 100.. copy row 2 up to a perturbation of 1% of a row's norm (~0.3 * 4): inside the 5% radius.
        SetRows(model, w =>
        {
            using var g = new Generator(9);
            for (int i = 0; i < others; i++) w[100 + i].copy_(w[2] + 0.01 * 0.3 * randn(16, generator: g) / Math.Sqrt(16) * 4);
        });

        Assert.Equal(flagged, UntrainedTokens.Find(model, new[] { 2 }).Any());
        if (flagged) Assert.Contains($"{others} other rows lie within 5 %", UntrainedTokens.Find(model, new[] { 2 })[0].Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(16)] // one row per block
    [InlineData(48)] // three rows per block: 259 rows end in a partial block
    [InlineData(1024)]
    public void Find_ByBlocksOfRows_SameFindingsAsOneBlock(long blockElements)
    {
        using LlamaForCausalLM model = SftFixture.Model();
        SetRows(model, w =>
        {
            w[5].zero_();
            for (int i = 100; i < 110; i++) w[i].copy_(w[2]);
        });
        int[] ids = { 2, 3, 5, 200, 258 };

        var whole = UntrainedTokens.Find(model, ids, long.MaxValue);
        var blocks = UntrainedTokens.Find(model, ids, blockElements);

        Assert.Equal(new[] { 2, 5 }, whole.Select(f => f.Id));
        Assert.Equal(whole, blocks);
    }

    [Fact]
    public void Find_IdOutsideVocabulary_ArgumentExceptionNamesIt()
    {
        using LlamaForCausalLM model = SftFixture.Model();
        var e = Assert.Throws<ArgumentException>(() => UntrainedTokens.Find(model, new[] { 259 }));
        Assert.Contains("Token 259 is outside \"model.embed_tokens\"'s 259 rows", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false, true)] // embedding frozen: the EOS row stays untrained -> warning
    [InlineData(true, false)] // full fine-tuning trains the row -> no warning
    public void Train_EosRowUntrained_WarnsUnlessTheRunTrainsIt(bool embeddingTrainable, bool warned)
    {
        using LlamaForCausalLM model = SftFixture.Model();
        SetRows(model, w => { for (int i = 100; i < 110; i++) w[i].copy_(w[2]); });
        model.named_parameters().Single(p => p.name == "model.embed_tokens.weight").parameter.requires_grad = embeddingTrainable;
        using var logger = new ListLogger();
        using var factory = LoggerFactory.Create(b => b.AddProvider(logger));

        using SftRun run = FineTuner.ForSft(model, new ByteTokenizer()).WithLogging(factory)
            .WithOptions(o => { o.Epochs = 1; o.BatchSize = 4; o.LearningRate = 1e-2; })
            .Train(SftFixture.PromptCompletionFile(_dir.Path));

        Assert.Equal(2, Assert.Single(run.UntrainedTokens).Id);
        Assert.Equal(warned, run.Warnings.Any(w => w.Code == "untrained_token" && w.Message.Contains("TrainableTokenIndices = [2]", StringComparison.Ordinal)));
        Assert.Equal(warned, logger.Entries.Any(e => e.Level == LogLevel.Warning && e.Message.Contains("looks untrained", StringComparison.Ordinal)));
    }
}

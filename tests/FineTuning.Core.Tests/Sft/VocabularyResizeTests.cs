using System;
using System.IO;
using System.Collections.Generic;
using System.Linq;
using FineTuning.Data;
using FineTuning.Data.Templates;
using FineTuning.Generation;
using FineTuning.Models;
using FineTuning.Models.Llama;
using FineTuning.Models.Tokenizers;
using FineTuning.Sft;
using FineTuning.Testing;
using FsCheck.Xunit;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Core.Tests.Sft;

/// <summary>New chat tokens: the tokenizer gets them, the model gets rows for them at the mean embedding, SFT uses them.</summary>
public sealed class VocabularyResizeTests : IDisposable
{
    private readonly TempDirectory _dir = new("resize");

    public void Dispose() => _dir.Dispose();

    private static Tensor Weight(LlamaForCausalLM model, string name) => model.named_parameters().Single(p => p.name == name).parameter;

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ResizeTokenEmbeddings_Grow_KeepsRowsAndAddsMeanRows(bool tied)
    {
        using var scope = NewDisposeScope();
        using LlamaForCausalLM model = SftFixture.Model();
        if (!tied)
        {
            using LlamaForCausalLM untied = new(model.Config with { TieWordEmbeddings = false });
            untied.load_state_dict(model.state_dict(), strict: false);
            Run(untied, tied);
            return;
        }
        Run(model, tied);
    }

    private static void Run(LlamaForCausalLM model, bool tied)
    {
        string[] names = tied ? new[] { "model.embed_tokens.weight" } : new[] { "model.embed_tokens.weight", "lm_head.weight" };
        Tensor[] before = names.Select(n => Weight(model, n).detach().clone()).ToArray();
        model.eval();
        Tensor input = tensor(new long[] { 1, 50, 60, 2 }).unsqueeze(0);
        Tensor logitsBefore = model.call(input);

        model.ResizeTokenEmbeddings(261);

        Assert.Equal(261, model.Config.VocabSize);
        for (int i = 0; i < names.Length; i++)
        {
            Tensor after = Weight(model, names[i]);
            Assert.Equal(new long[] { 261, 16 }, after.shape);
            Assert.True(after.narrow(0, 0, 259).equal(before[i]).all().item<bool>(), $"{names[i]}: old rows kept");
            // Hand-computed mean in fp64; the rows hold it rounded once to fp32.
            Tensor mean = before[i].to(ScalarType.Float64).mean(new long[] { 0 });
            Assert.True(after.narrow(0, 259, 2).to(ScalarType.Float64).allclose(mean.expand(2, 16), rtol: 1e-7, atol: 1e-7 * mean.abs().max().item<double>()));
        }
        // Old tokens' logits are unchanged; the two new columns exist. (Same fp32 dot products; a different matmul
        // blocking over 261 rows may round differently: relative tolerance of a few fp32 ulps of the logit size.)
        Tensor logits = model.call(input);
        Assert.Equal(261, logits.shape[2]);
        Assert.True(logits.narrow(2, 0, 259).allclose(logitsBefore, rtol: 1e-5, atol: 1e-5 * logitsBefore.abs().max().item<float>()));
    }

    [Fact]
    public void ResizeTokenEmbeddings_NotPositive_Throws()
    {
        using LlamaForCausalLM model = SftFixture.Model();
        Assert.Throws<ArgumentOutOfRangeException>(() => model.ResizeTokenEmbeddings(0));
    }

    [Fact]
    public void AddedTokensTokenizer_EncodeCutsAtMarkers_DecodeDropsThem()
    {
        var tokenizer = new AddedTokensTokenizer(new ByteTokenizer(), new[] { "<|im_start|>", "<|im_end|>" });
        var inner = new ByteTokenizer();

        Assert.Equal(261, tokenizer.VocabSize);
        Assert.Equal(new[] { 1, 259 }.Concat(inner.Encode("user\nhi", false)).Append(260).Concat(inner.Encode("\n", false)), tokenizer.Encode("<|im_start|>user\nhi<|im_end|>\n", addBos: true));
        Assert.Equal("user\nhi\n", tokenizer.Decode(tokenizer.Encode("<|im_start|>user\nhi<|im_end|>\n", addBos: false)));
        Assert.Throws<ArgumentException>(() => new AddedTokensTokenizer(inner, new[] { "<a>", "<a>" }));
    }

    /// <summary>Any text made of markers and plain pieces: encoding then decoding gives the text without the markers.</summary>
    [Property(MaxTest = 200)]
    public bool AddedTokensTokenizer_RoundTrip_TextWithoutMarkers(int[] picks)
    {
        string[] pieces = { "<|im_start|>", "<|im_end|>", "<|im_", "user", "\n", "é", " ", "|>", "<" };
        string[] chosen = (picks ?? Array.Empty<int>()).Select(p => pieces[(p % pieces.Length + pieces.Length) % pieces.Length]).ToArray();
        string text = string.Concat(chosen);
        var tokenizer = new AddedTokensTokenizer(new ByteTokenizer(), new[] { "<|im_start|>", "<|im_end|>" });
        IReadOnlyList<int> ids = tokenizer.Encode(text, addBos: false);
        string plain = text.Replace("<|im_start|>", "", StringComparison.Ordinal).Replace("<|im_end|>", "", StringComparison.Ordinal);
        int markers = System.Text.RegularExpressions.Regex.Matches(text, @"<\|im_start\|>|<\|im_end\|>").Count;
        return tokenizer.Decode(ids) == plain && ids.All(i => i >= 3 && i < 261) && ids.Count(i => i >= 259) == markers;
    }

    [Fact]
    public void ForSft_ChatMLWithAddedTokens_LabelsUseNewIds_ChatStopsAtNewEndOfTurn()
    {
        using LlamaForCausalLM model = SftFixture.Model();
        var tokenizer = new AddedTokensTokenizer(new ByteTokenizer(), new[] { "<|im_start|>", "<|im_end|>" });
        model.ResizeTokenEmbeddings(tokenizer.VocabSize);

        using SftRun run = FineTuner.ForSft(model, tokenizer).WithTemplate(ChatTemplates.ChatML)
            .WithSftOptions(o => o.ValidationFraction = 0)
            .WithOptions(o => { o.Epochs = 1; o.BatchSize = 4; o.LearningRate = 1e-3; })
            .Train(SftFixture.MessagesFile(_dir.Path));

        TokenSequence first = run.Train.Sequences[0];
        Assert.Equal(259, first.InputIds[0]); // <|im_start|> of the user turn
        Assert.Equal(260, first.Labels.Last(l => l >= 0)); // the learned end of the assistant turn is <|im_end|>
        // The new end-of-turn row is the mean of random rows here (norm ~ 1/sqrt(259) of a row's): it looks untrained
        // before the run, and full fine-tuning trains it, so no warning.
        Assert.Contains(run.UntrainedTokens, u => u.Id == 260);
        Assert.DoesNotContain(run.Warnings, w => w.Code == "untrained_token");
        model.eval();
        var usage = new GenerationUsage();
        _ = string.Concat(new TextGenerator(model, tokenizer).ChatStream(new[] { new ChatMessage(ChatRole.User, "hi") }, run.Template,
            new GenerationOptions { MaxNewTokens = 3 }, usage));
        Assert.True(usage.Completed);
    }
}

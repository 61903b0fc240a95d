using System;
using System.Collections.Generic;
using System.Linq;
using FineTuning.Core.Tests.Models.Llama;
using FineTuning.Generation;
using FineTuning.Models.Llama;
using FineTuning.Testing;
using TorchSharp;
using Xunit;

namespace FineTuning.Core.Tests.Generation;

public sealed class TextGeneratorTests
{
    private static readonly IReadOnlyList<int>[] Prompts =
    {
        new[] { 1, 7, 8, 9, 10 },
        new[] { 1, 20 },
        new[] { 1, 30, 31, 32, 33, 34, 35, 36 },
    };

    public static TheoryData<int, bool, bool> Architectures => new()
    {
        { 2, false, false }, // grouped-query attention, separate lm_head
        { 2, true, false },  // grouped-query attention, tied embeddings
        { 4, false, true },  // multi-head attention, q/k/v/o bias
        { 1, true, true },   // multi-query attention
    };

    [Theory]
    [MemberData(nameof(Architectures))]
    public void GenerateIds_WithKVCache_EqualsWithoutCache(int kvHeads, bool tied, bool bias)
    {
        // float64: the cache claims to compute the same function, so only rounding (~1e-13 here) may differ; in float32
        // the two paths sum in different orders and differ by ~1e-5 on some CPUs' kernels.
        using LlamaForCausalLM model = TinyLlama.Create(TinyLlama.Config(kvHeads, tied, bias), dtype: torch.ScalarType.Float64);
        var generator = new TextGenerator(model, new CharTokenizer());

        (IReadOnlyList<int> ids, List<double[]> logits) Run(bool useCache)
        {
            var seen = new List<double[]>();
            var options = new GenerationOptions { MaxNewTokens = 12, StopTokenIds = Array.Empty<int>(), UseCache = useCache };
            options.LogitsObserver = t => seen.Add(t.to(torch.ScalarType.Float64).data<double>().ToArray());
            return (generator.GenerateIds(new[] { Prompts[0] }, options)[0], seen);
        }

        (IReadOnlyList<int> cachedIds, List<double[]> cachedLogits) = Run(useCache: true);
        (IReadOnlyList<int> plainIds, List<double[]> plainLogits) = Run(useCache: false);

        Assert.Equal(12, cachedIds.Count);
        Assert.Equal(plainIds, cachedIds);
        Assert.Equal(plainLogits.Count, cachedLogits.Count);
        for (int step = 0; step < plainLogits.Count; step++)
        {
            for (int v = 0; v < plainLogits[step].Length; v++)
            {
                Assert.True(Math.Abs(plainLogits[step][v] - cachedLogits[step][v]) <= Tolerance.Fp64Same(plainLogits[step][v]), $"step {step}, token {v}: {plainLogits[step][v]} vs {cachedLogits[step][v]}");
            }
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void GenerateIds_LeftPaddedBatch_EqualsOnePromptAtATime(bool useCache)
    {
        using LlamaForCausalLM model = TinyLlama.Create(TinyLlama.Config());
        var generator = new TextGenerator(model, new CharTokenizer());
        var options = new GenerationOptions { MaxNewTokens = 10, StopTokenIds = Array.Empty<int>(), UseCache = useCache };

        IReadOnlyList<IReadOnlyList<int>> batch = generator.GenerateIds(Prompts, options);

        for (int i = 0; i < Prompts.Length; i++)
        {
            Assert.Equal(generator.GenerateIds(new[] { Prompts[i] }, options)[0], batch[i]);
        }
    }

    [Fact]
    public void Generate_Sampling_SameSeedSameTextAndTopK1IsGreedy()
    {
        using LlamaForCausalLM model = TinyLlama.Create(TinyLlama.Config());
        var generator = new TextGenerator(model, new CharTokenizer());
        var sampled = new GenerationOptions { MaxNewTokens = 20, StopTokenIds = Array.Empty<int>(), Temperature = 1.0, TopP = 0.9, Seed = 7 };

        string first = generator.Generate("abc", sampled);
        string second = generator.Generate("abc", sampled);
        string greedy = generator.Generate("abc", new GenerationOptions { MaxNewTokens = 20, StopTokenIds = Array.Empty<int>() });
        string topK1 = generator.Generate("abc", new GenerationOptions { MaxNewTokens = 20, StopTokenIds = Array.Empty<int>(), Temperature = 0.8, TopK = 1, Seed = 3 });
        string tinyTopP = generator.Generate("abc", new GenerationOptions { MaxNewTokens = 20, StopTokenIds = Array.Empty<int>(), Temperature = 0.8, TopP = 1e-6, Seed = 4 });

        Assert.Equal(20, first.Length);
        Assert.Equal(first, second);
        Assert.Equal(greedy, topK1);
        Assert.Equal(greedy, tinyTopP);
    }

    [Fact]
    public void GenerateIds_IncludeStopToken_KeepsTheStopTokenThatEndedEachRow()
    {
        using LlamaForCausalLM model = TinyLlama.Create(TinyLlama.Config());
        var generator = new TextGenerator(model, new CharTokenizer());
        IReadOnlyList<IReadOnlyList<int>> full = generator.GenerateIds(Prompts, new GenerationOptions { MaxNewTokens = 12, StopTokenIds = Array.Empty<int>() });
        // Stop at the token row 0 generated at step 4: row 0 ends there; other rows end at its first occurrence, if any.
        int stopId = full[0][4];
        var options = new GenerationOptions { MaxNewTokens = 12, StopTokenIds = new[] { stopId }, IncludeStopToken = true };
        IReadOnlyList<IReadOnlyList<int>> kept = generator.GenerateIds(Prompts, options);
        options.IncludeStopToken = false;
        IReadOnlyList<IReadOnlyList<int>> dropped = generator.GenerateIds(Prompts, options);
        for (int r = 0; r < Prompts.Length; r++)
        {
            int at = full[r].ToList().IndexOf(stopId);
            Assert.Equal(at < 0 ? full[r] : full[r].Take(at + 1), kept[r]);
            Assert.Equal(at < 0 ? full[r] : full[r].Take(at), dropped[r]);
        }
        Assert.Equal(stopId, kept[0][^1]);
    }

    [Fact]
    public void Stream_StopStringAndStopToken_EndOutputBeforeThem()
    {
        using LlamaForCausalLM model = TinyLlama.Create(TinyLlama.Config());
        var tokenizer = new CharTokenizer();
        var generator = new TextGenerator(model, tokenizer);
        var plain = new GenerationOptions { MaxNewTokens = 30, StopTokenIds = Array.Empty<int>() };
        string full = generator.Generate("ab", plain); // special ids (unk, BOS, EOS) may appear and print nothing
        Assert.True(full.Length >= 20, full);

        // A stop string taken from the middle of the greedy output.
        string stop = full.Substring(12, 3);
        var withStop = new GenerationOptions { MaxNewTokens = 30, StopTokenIds = Array.Empty<int>(), StopStrings = new[] { stop } };
        List<string> pieces = generator.Stream("ab", withStop).ToList();
        Assert.Equal(full[..full.IndexOf(stop, StringComparison.Ordinal)], string.Concat(pieces));
        Assert.True(pieces.Count > 1);

        // A stop token: the id generated at step 5 ends generation at its first occurrence.
        int stopId = tokenizer.Encode(full[5].ToString(), addBos: false)[0];
        var withStopId = new GenerationOptions { MaxNewTokens = 30, StopTokenIds = new[] { stopId } };
        Assert.Equal(full[..full.IndexOf(full[5], StringComparison.Ordinal)], generator.Generate("ab", withStopId));
    }

    [Fact]
    public void Generate_50Tokens_DoesNotLeakTensors()
    {
        using LlamaForCausalLM model = TinyLlama.Create(TinyLlama.Config());
        var generator = new TextGenerator(model, new CharTokenizer());
        var options = new GenerationOptions { MaxNewTokens = 50, StopTokenIds = Array.Empty<int>(), Temperature = 1.0, TopK = 10, TopP = 0.95, Seed = 1 };
        generator.Generate("warm up", options);

        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        IReadOnlyList<int> ids = generator.GenerateIds(new[] { Prompts[0] }, options)[0];
        string text = generator.Generate("hello", options);
        long after = DisposeScopeManager.Statistics.ThreadTotalLiveCount;

        Assert.Equal(50, ids.Count);
        Assert.NotEmpty(text);
        Assert.Equal(before, after);
    }

    [Fact]
    public void Generate_InvalidOptions_ThrowsListingProblems()
    {
        using LlamaForCausalLM model = TinyLlama.Create(TinyLlama.Config());
        var generator = new TextGenerator(model, new CharTokenizer());

        ArgumentException e = Assert.Throws<ArgumentException>(() => generator.Generate("a", new GenerationOptions { TopP = 0, TopK = -1 }));

        Assert.Contains("TopP", e.Message, StringComparison.Ordinal);
        Assert.Contains("TopK", e.Message, StringComparison.Ordinal);
    }
}

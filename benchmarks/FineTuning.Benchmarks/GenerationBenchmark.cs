using System.Collections.Generic;
using System.Linq;
using BenchmarkDotNet.Attributes;
using FineTuning.Generation;
using FineTuning.Models.Llama;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Benchmarks;

/// <summary>
/// Greedy generation of 128 tokens after an 8-token prompt with a random model of stories260K's shape (LLaMA, dim 64,
/// 5 layers, 8 heads, 4 KV heads, vocab 512), without the KV cache (baseline: every step re-runs the whole prefix)
/// and with it. Tokens per second = 128 / mean time.
/// </summary>
[SimpleJob(launchCount: 1, warmupCount: 2, iterationCount: 10)]
[MedianColumn]
public class GenerationBenchmark
{
    private LlamaForCausalLM? _model;
    private TextGenerator? _generator;
    private readonly IReadOnlyList<int>[] _prompt = { new[] { 1, 403, 407, 261, 378, 300, 280, 290 } };

    [GlobalSetup]
    public void Setup()
    {
        torch.set_num_threads(2);
        _model = new LlamaForCausalLM(new LlamaConfig
        {
            HiddenSize = 64, IntermediateSize = 172, NumHiddenLayers = 5, NumAttentionHeads = 8, NumKeyValueHeads = 4,
            VocabSize = 512, MaxPositionEmbeddings = 512, TieWordEmbeddings = true, RmsNormEps = 1e-5,
        });
        using var g = new Generator(1);
        _model.InitializeWeights(g);
        _model.eval();
        _generator = new TextGenerator(_model, new NoTokenizer());
    }

    [GlobalCleanup]
    public void Cleanup() => _model?.Dispose();

    [Benchmark(Baseline = true)]
    public int WithoutCache() => Generate(useCache: false);

    [Benchmark]
    public int WithCache() => Generate(useCache: true);

    private int Generate(bool useCache) =>
        _generator!.GenerateIds(_prompt, new GenerationOptions { MaxNewTokens = 128, Temperature = 0, UseCache = useCache, StopTokenIds = System.Array.Empty<int>() })[0].Count;

    /// <summary>Generation by ids needs no text; this tokenizer only satisfies the constructor.</summary>
    private sealed class NoTokenizer : FineTuning.Models.Tokenizers.ITokenizer
    {
        public int VocabSize => 512;

        public int BosId => 1;

        public int EosId => 2;

        public IReadOnlyList<int> Encode(string text, bool addBos) => throw new System.NotSupportedException();

        public string Decode(IEnumerable<int> ids) => string.Join(" ", ids);
    }
}

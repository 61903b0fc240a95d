using System;
using System.Collections.Generic;
using LLama;
using LLama.Common;
using LLama.Native;

namespace FineTuning.Interop.Tests;

/// <summary>llama.cpp (through LLamaSharp) running a GGUF file: greedy decoding from token ids, with the logits of every step.</summary>
internal sealed class LlamaCppRunner : IDisposable
{
    private readonly LLamaWeights weights;
    private readonly LLamaContext context;

    static LlamaCppRunner()
    {
        // llama.cpp logs every tensor it loads; keep only its errors (set before the native library loads).
        NativeLibraryConfig.All.WithLogCallback((level, message) =>
        {
            if (level == LLamaLogLevel.Error) Console.Error.Write(message);
        });

        // LLamaSharp picks the AVX-512, AVX2, AVX or plain build for the CPU; FINETUNING_LLAMA_AVX=avx2 (or avx, none) forces
        // a lower one, to check on an AVX-512 machine the build that AVX2-only machines get.
        if (Enum.TryParse(Environment.GetEnvironmentVariable("FINETUNING_LLAMA_AVX"), ignoreCase: true, out AvxLevel avx))
        {
            NativeLibraryConfig.All.WithAvx(avx);
        }
    }

    internal LlamaCppRunner(string path, string? loraPath = null, float loraScale = 1f)
    {
        var parameters = new ModelParams(path) { ContextSize = 256, BatchSize = 256, UBatchSize = 256, GpuLayerCount = 0, Threads = 1, BatchThreads = 1,
            // fp32 KV cache and plain attention: llama.cpp's defaults (f16 cache, flash attention) add rounding of their own.
            TypeK = GGMLType.GGML_TYPE_F32, TypeV = GGMLType.GGML_TYPE_F32, FlashAttention = false,
        };
        weights = LLamaWeights.LoadFromFile(parameters);
        context = weights.CreateContext(parameters);
        if (loraPath is not null)
        {
            LoraAdapter adapter = weights.NativeHandle.LoadLoraFromFile(loraPath);
            Span<(LoraAdapter, float)> adapters = new[] { (adapter, loraScale) };
            context.NativeHandle.SetLoraAdapters(adapters);
        }
    }

    internal int VocabSize => weights.Vocab.Count;

    /// <summary>llama.cpp's tokenization of each text with only the vocabulary of <paramref name="path"/> loaded (no BOS, special tokens as text).</summary>
    internal static List<int[]> TokenizeVocabularyOnly(string path, IEnumerable<string> texts)
    {
        using LLamaWeights vocabulary = LLamaWeights.LoadFromFile(new ModelParams(path) { VocabOnly = true, GpuLayerCount = 0 });
        var result = new List<int[]>();
        foreach (string text in texts) result.Add(Array.ConvertAll(vocabulary.Tokenize(text, false, false, System.Text.Encoding.UTF8), t => (int)t));
        return result;
    }

    /// <summary>llama.cpp's own tokenization of <paramref name="text"/>.</summary>
    internal IReadOnlyList<int> Tokenize(string text, bool addBos)
    {
        LLamaToken[] tokens = context.Tokenize(text, addBos, special: false);
        return Array.ConvertAll(tokens, t => (int)t);
    }

    /// <summary>Greedy continuation of <paramref name="prompt"/> (stops before <paramref name="eos"/>) and the logits of each step.</summary>
    internal (List<int> Tokens, List<float[]> Logits) Greedy(IReadOnlyList<int> prompt, int maxNewTokens, int eos)
    {
        context.NativeHandle.MemoryClear(true);
        var batch = new LLamaBatch();
        for (int i = 0; i < prompt.Count; i++) batch.Add((LLamaToken)prompt[i], i, LLamaSeqId.Zero, i == prompt.Count - 1);
        var tokens = new List<int>();
        var logits = new List<float[]>();
        int position = prompt.Count;
        while (true)
        {
            DecodeResult result = context.NativeHandle.Decode(batch);
            if (result != DecodeResult.Ok) throw new InvalidOperationException($"llama_decode returned {result}.");
            float[] step = context.NativeHandle.GetLogitsIth(batch.TokenCount - 1).ToArray();
            logits.Add(step);
            int next = ArgMax(step);
            if (next == eos || tokens.Count == maxNewTokens) break;
            tokens.Add(next);
            if (tokens.Count == maxNewTokens) break;
            batch.Clear();
            batch.Add((LLamaToken)next, position++, LLamaSeqId.Zero, true);
        }

        return (tokens, logits);
    }

    internal static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++)
        {
            if (values[i] > values[best]) best = i;
        }

        return best;
    }

    public void Dispose()
    {
        context.Dispose();
        weights.Dispose();
    }
}

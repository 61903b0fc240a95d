using System;
using System.Collections.Generic;
using LLama;
using LLama.Common;
using LLama.Native;

namespace FineTuning.Examples.ServeAnywhere;

/// <summary>llama.cpp (through LLamaSharp) decoding greedily from token ids: what an application serving the GGUF file runs.</summary>
internal static class LlamaCppGreedy
{
    static LlamaCppGreedy()
    {
        // llama.cpp logs every tensor it loads; keep its errors only (set before the native library loads).
        NativeLibraryConfig.All.WithLogCallback((level, message) =>
        {
            if (level == LLamaLogLevel.Error) Console.Error.Write(message);
        });
    }

    /// <summary>The greedy continuation of <paramref name="prompt"/>, without the <paramref name="eos"/> that ends it.</summary>
    public static List<int> Run(string ggufPath, IReadOnlyList<int> prompt, int maxNewTokens, int eos)
    {
        var parameters = new ModelParams(ggufPath) { ContextSize = 256, BatchSize = 256, GpuLayerCount = 0, Threads = 2 };
        using LLamaWeights weights = LLamaWeights.LoadFromFile(parameters);
        using LLamaContext context = weights.CreateContext(parameters);
        var batch = new LLamaBatch();
        for (int i = 0; i < prompt.Count; i++) batch.Add((LLamaToken)prompt[i], i, LLamaSeqId.Zero, i == prompt.Count - 1);
        var tokens = new List<int>();
        int position = prompt.Count;
        while (tokens.Count < maxNewTokens)
        {
            if (context.NativeHandle.Decode(batch) != DecodeResult.Ok) throw new InvalidOperationException("llama_decode failed.");
            ReadOnlySpan<float> logits = context.NativeHandle.GetLogitsIth(batch.TokenCount - 1);
            int next = 0;
            for (int v = 1; v < logits.Length; v++)
            {
                if (logits[v] > logits[next]) next = v;
            }

            if (next == eos) break;
            tokens.Add(next);
            batch.Clear();
            batch.Add((LLamaToken)next, position++, LLamaSeqId.Zero, true);
        }

        return tokens;
    }
}

using System;
using System.Collections.Generic;
using System.IO;
using FineTuning.Models.Gguf;
using FineTuning.Models.Llama;
using FineTuning.Testing;
using Xunit;
using Xunit.Abstractions;

namespace FineTuning.Interop.Tests;

/// <summary>
/// Tiny random HF-layout llama (GQA, permuted Q/K rows) and qwen2 (biases, gpt2-style vocabulary, no permutation) through
/// llama.cpp. F32 must give every greedy token (the layout proof); random weights have near-ties, so F16 and Q8_0 must
/// agree up to the first step whose top-2 margin is within twice the derived logit bound.
/// </summary>
public sealed class TinyModelGgufTests(ITestOutputHelper output) : IDisposable
{
    private static readonly string[] Prompts = { "Hello world", "abc", "The 3 cats." };
    private readonly TempDirectory folder = new("ft-gguf-");

    public void Dispose() => folder.Dispose();

    [Theory]
    [InlineData("llama", GgufTensorType.F32, true)]
    [InlineData("llama", GgufTensorType.F16, false)]
    [InlineData("llama", GgufTensorType.Q8_0, false)]
    [InlineData("mistral", GgufTensorType.F32, true)]
    [InlineData("qwen2", GgufTensorType.F32, true)]
    [InlineData("qwen2", GgufTensorType.F16, false)]
    [InlineData("qwen2", GgufTensorType.Q8_0, false)]
    public void Save_TinyHfModel_LlamaCppGreedyTokensAndLogitsAgree(string architecture, GgufTensorType type, bool allTokens)
    {
        LlamaConfig config = architecture switch { "llama" => TinyHfModels.LlamaGqa(), "mistral" => TinyHfModels.MistralHeadDim(), _ => TinyHfModels.Qwen2() };
        using LlamaForCausalLM model = TinyHfModels.Create(config, seed: 5);
        string path = folder.File($"{architecture}-{type}.gguf");
        GgufExportResult export = GgufExporter.Save(model, TinyHfModels.Vocabulary(architecture == "qwen2" ? "gpt2" : "llama"), path, new GgufExportOptions { TensorType = type });
        Assert.Equal(architecture == "mistral" ? "llama" : architecture, export.Architecture);
        Reference.UseStoredWeights(model, export);
        using var cpp = new LlamaCppRunner(path);
        var tokenizer = new CharTokenizer();
        foreach (string prompt in Prompts)
        {
            IReadOnlyList<int> ids = tokenizer.Encode(prompt, addBos: true);
            Agreement.Measured m = Agreement.Check(cpp, model, tokenizer, ids, 24, type, allTokens);
            output.WriteLine($"{architecture} {type} \"{prompt}\": {m}");
        }
    }
}

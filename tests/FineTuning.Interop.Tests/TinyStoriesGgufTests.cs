using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using FineTuning.Models.Gguf;
using FineTuning.Models.Llama;
using FineTuning.Models.Tokenizers;
using FineTuning.Testing;
using Xunit;
using Xunit.Abstractions;

namespace FineTuning.Interop.Tests;

/// <summary>Our GGUF of the real stories260K, run by llama.cpp, against our own forward pass on the weights the file holds.</summary>
public sealed class TinyStoriesGgufTests(ITestOutputHelper output) : IDisposable
{
    private static readonly string[] Prompts = { "Once upon a time", "Lily wanted to", "The cat sat on the", "One day, a big dog", "Tom and Sue went" };
    private const int NewTokens = 32;
    private readonly TempDirectory folder = new("ft-gguf-");

    public void Dispose() => folder.Dispose();

    [SkippableTheory]
    [InlineData(GgufTensorType.F32, true)]
    [InlineData(GgufTensorType.F16, true)]
    [InlineData(GgufTensorType.Q8_0, false)]
    [InlineData(GgufTensorType.Q4_0, false)]
    public void Save_Stories260K_LlamaCppGreedyTokensAndLogitsAgree(GgufTensorType type, bool allTokens)
    {
        string dir = ModelFiles.Stories260K();
        using LlamaForCausalLM model = Llama2CCheckpoint.Load(Path.Combine(dir, "stories260K.bin"));
        Llama2CTokenizer tokenizer = Llama2CTokenizer.Load(Path.Combine(dir, "tok512.bin"), 512);
        string path = folder.File($"stories260K-{type}.gguf");
        GgufExportResult export = GgufExporter.Save(model, GgufVocabulary.FromLlama2C(tokenizer), path, new GgufExportOptions { TensorType = type });
        output.WriteLine($"{type}: {export.FileBytes} bytes; F16 fallbacks: {export.Tensors.Count(t => t.FellBack)}");
        Assert.Equal(new FileInfo(path).Length, export.FileBytes);

        Reference.UseStoredWeights(model, export);
        using var cpp = new LlamaCppRunner(path);
        Assert.Equal(512, cpp.VocabSize);
        foreach (string prompt in Prompts)
        {
            IReadOnlyList<int> ids = tokenizer.Encode(prompt, addBos: true);
            Assert.Equal(ids, cpp.Tokenize(prompt, addBos: true));
            Agreement.Measured m = Agreement.Check(cpp, model, tokenizer, ids, NewTokens, type, allTokens);
            output.WriteLine($"{prompt}: {m}");
        }
    }
}

using System;
using System.Collections.Generic;
using System.IO;
using FineTuning.Models.Gguf;
using FineTuning.Models.Gpt2;
using FineTuning.Testing;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace FineTuning.Interop.Tests;

/// <summary>A tiny random GPT-2 through llama.cpp's gpt2 architecture (fused QKV, LayerNorm with bias, learned positions, tied head).</summary>
public sealed class Gpt2GgufTests(ITestOutputHelper output) : IDisposable
{
    private static readonly string[] Prompts = { "Hello world", "abc", "The 3 cats." };
    private readonly TempDirectory folder = new("ft-gguf-");

    public void Dispose() => folder.Dispose();

    [Theory]
    [InlineData(GgufTensorType.F32)]
    [InlineData(GgufTensorType.F16)]
    public void Save_TinyGpt2_LlamaCppGreedyTokensAndLogitsAgree(GgufTensorType type)
    {
        var config = new Gpt2Config { VocabSize = TinyHfModels.Alphabet.Length + 3, NPositions = 64, NEmbd = 64, NLayer = 2, NHead = 4, LayerNormEpsilon = 1e-5 };
        using var model = new Gpt2LMHeadModel(config);
        using (var generator = new torch.Generator(9, torch.CPU))
        using (no_grad())
        {
            // N(0, 1/fan_in): unit gain per matrix, as the tolerance assumes; norms stay at their (1, 0) init plus noise.
            foreach ((string name, Parameter p) in model.named_parameters())
            {
                p.normal_(0, p.dim() > 1 ? 1 / Math.Sqrt(p.shape[1]) : 0.1, generator);
                if (name.Contains(".ln_", StringComparison.Ordinal) && name.EndsWith(".weight", StringComparison.Ordinal)) p.add_(1);
            }
        }

        model.eval();
        string path = folder.File($"gpt2-{type}.gguf");
        GgufExportResult export = GgufExporter.Save(model, TinyHfModels.Vocabulary("gpt2"), path, new GgufExportOptions { TensorType = type });
        Assert.Equal("gpt2", export.Architecture);
        Reference.UseStoredWeights(model, export, GgufGpt2Layout.TensorName);
        using var cpp = new LlamaCppRunner(path);
        var tokenizer = new CharTokenizer();
        // ggml's CPU GELU looks its result up in a table indexed by the fp16 rounding of the input (GGML_GELU_FP16),
        // so even an F32 file gets the F16 rounding (2^-11) once per layer.
        double epsilon = Math.Max(Agreement.Epsilon(type, config.EffectiveInner), Agreement.Epsilon(GgufTensorType.F16, 0));
        foreach (string prompt in Prompts)
        {
            Agreement.Measured m = Agreement.Check(cpp, model, tokenizer, tokenizer.Encode(prompt, addBos: true), 24, epsilon, config.NLayer, requireAllTokens: type == GgufTensorType.F32);
            output.WriteLine($"gpt2 {type} \"{prompt}\": {m}");
        }
    }
}

using System;
using System.IO;
using System.Linq;
using FineTuning.Lora;
using FineTuning.Models;
using FineTuning.Models.Llama;
using FineTuning.Models.Tokenizers;
using FineTuning.Testing;
using FineTuning.Training;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;

namespace FineTuning.Quantization.Tests;

/// <summary>QLoRA on the real pretrained stories260K against LoRA over its bf16 weights, same data, seeds and steps.</summary>
public sealed class RealModelQLoRATests(ITestOutputHelper output)
{
    private static readonly string[] Names = { "Lily", "Tom", "Sue", "Ben", "Mia", "Max", "Anna", "Sam", "Zoe", "Leo", "Ella", "Jack" };
    private static readonly string[] Things = { "ball", "dog", "cat", "kite", "tree", "boat", "cake", "bird" };

    /// <summary>A format the model does not know: "Title: {name} and the {thing}." before a story opening.</summary>
    private static TokenSequence[] Stories(Llama2CTokenizer tokenizer, string[] names) =>
        names.SelectMany(n => Things.Select(t =>
            TokenSequence.ForLanguageModeling(tokenizer.Encode($"Title: {n} and the {t}.\nOnce upon a time, {n} had a {t}.", addBos: true, addEos: true)
                .Select(i => (long)i).ToArray()))).ToArray();

    private static (double Before, double After) Train(bool qlora, TokenSequence[] train, TokenSequence[] validation)
    {
        using LlamaForCausalLM model = Llama2CCheckpoint.Load(Path.Combine(ModelFiles.Stories260K(), "stories260K.bin"));
        FineTuner<TokenSequence> tuner = FineTuner.For(model);
        tuner = qlora
            // down_proj has 172 input features: no block size divides it, so it stays dense.
            ? tuner.WithQLoRA(new QuantizationOptions { DoubleQuantization = true, Targets = QuantizationTargets.AllLinear.Except("down_proj") }, r: 8, alpha: 16)
            : tuner.WithLoRA(r: 8, alpha: 16);
        using TrainingRun run = tuner
            .WithOptions(o =>
            {
                o.Epochs = 4;
                o.BatchSize = 8;
                o.LearningRate = 5e-3;
                o.Seed = 7;
                o.ParameterDType = torch.ScalarType.BFloat16;
            })
            .WithValidation(validation)
            .Train(train);
        return (run.Evaluations[0].Loss, run.Evaluations[^1].Loss);
    }

    [SkippableFact]
    public void QLoRA_ReachesBf16LoRA_WithinAStatedMargin()
    {
        Llama2CTokenizer tokenizer = Llama2CTokenizer.Load(Path.Combine(ModelFiles.Stories260K(), "tok512.bin"), 512);
        TokenSequence[] train = Stories(tokenizer, Names[..9]), validation = Stories(tokenizer, Names[9..]);
        (double qloraBefore, double qloraAfter) = Train(qlora: true, train, validation);
        (double loraBefore, double loraAfter) = Train(qlora: false, train, validation);
        output.WriteLine($"held-out loss: bf16 LoRA {loraBefore:F3} -> {loraAfter:F3}; QLoRA (NF4 + dq, bf16 compute) {qloraBefore:F3} -> {qloraAfter:F3}");

        // Both learn the format on held-out names; quantization shifts the starting loss, and QLoRA must end within 10 % of bf16 LoRA.
        Assert.True(loraAfter < 0.7 * loraBefore, $"LoRA {loraBefore:F3} -> {loraAfter:F3}");
        Assert.True(qloraAfter < 0.7 * qloraBefore, $"QLoRA {qloraBefore:F3} -> {qloraAfter:F3}");
        Assert.True(qloraAfter <= 1.10 * loraAfter, $"QLoRA {qloraAfter:F3} vs LoRA {loraAfter:F3}");
        Assert.NotEqual(loraBefore, qloraBefore); // the base really was quantized
    }
}

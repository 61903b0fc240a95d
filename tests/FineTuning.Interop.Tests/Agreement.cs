using System;
using System.Collections.Generic;
using System.Linq;
using FineTuning.Generation;
using FineTuning.Models.Gguf;
using FineTuning.Models.Llama;
using FineTuning.Models.Tokenizers;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Interop.Tests;

/// <summary>
/// Greedy decoding by llama.cpp against ours on the same weights, with a tolerance derived from the arithmetic.
/// llama.cpp rounds the input of every matrix product to the weight's "dot type" (F32 stays F32, F16 weights take F16
/// inputs, Q8_0 and Q4_0 weights take Q8_0 inputs), a relative error of at most eps per value: 2^-24 * n for an fp32
/// dot product of length n, 2^-11 for F16, 1/254 for Q8_0 (half a step of 127 levels of the block maximum). K = 7 such
/// inputs per layer plus the output head lie on the path to the logits; to first order, with errors of one sign and unit
/// gain per layer, the logits differ by at most K * eps * max|logit|. Greedy tokens must agree as long as our top-2
/// margin exceeds twice that.
/// </summary>
internal static class Agreement
{
    internal static double Epsilon(GgufTensorType type, int longestDot) => type switch
    {
        GgufTensorType.F32 => longestDot * Math.Pow(2, -24),
        GgufTensorType.F16 => Math.Pow(2, -11),
        _ => 1.0 / 254,
    };

    internal static double Tolerance(double epsilon, int layers, float[] logits) => ((7 * layers) + 1) * epsilon * logits.Max(Math.Abs);

    /// <summary>Compares one prompt of a LLaMA-family model; returns the measured agreement (asserting the derived bounds).</summary>
    internal static Measured Check(LlamaCppRunner cpp, LlamaForCausalLM model, ITokenizer tokenizer, IReadOnlyList<int> prompt, int newTokens, GgufTensorType type, bool requireAllTokens) =>
        Check(cpp, model, tokenizer, prompt, newTokens, Epsilon(type, Math.Max(model.Config.HiddenSize, model.Config.IntermediateSize)), model.Config.NumHiddenLayers, requireAllTokens);

    /// <summary>Compares one prompt given the per-value rounding <paramref name="epsilon"/> and the number of layers.</summary>
    internal static Measured Check(LlamaCppRunner cpp, ICausalLanguageModel model, ITokenizer tokenizer, IReadOnlyList<int> prompt, int newTokens, double epsilon, int layers, bool requireAllTokens)
    {
        var ourLogits = new List<float[]>();
        var options = new GenerationOptions
        {
            MaxNewTokens = newTokens, Temperature = 0, LogitsObserver = t => ourLogits.Add(t[0].to(ScalarType.Float32).data<float>().ToArray()),
        };
        List<int> ours = new TextGenerator(model, tokenizer).GenerateIds(new[] { prompt }, options)[0].ToList();
        (List<int> theirs, List<float[]> theirLogits) = cpp.Greedy(prompt, newTokens, tokenizer.EosId);
        double tolerance = Tolerance(epsilon, layers, ourLogits[0]);
        double diff = ourLogits[0].Zip(theirLogits[0], (a, b) => Math.Abs(a - b)).Max();
        Assert.True(diff <= tolerance, $"first-step logits differ by {diff:G3}, more than the derived {tolerance:G3} (per-value rounding {epsilon:G3}).");
        int prefix = 0;
        while (prefix < Math.Min(ours.Count, theirs.Count) && ours[prefix] == theirs[prefix]) prefix++;
        int decisive = 0;
        while (decisive < ourLogits.Count && Margin(ourLogits[decisive]) > 2 * tolerance) decisive++;
        if (requireAllTokens)
        {
            Assert.Equal(ours, theirs);
        }
        else
        {
            Assert.True(prefix >= Math.Min(decisive, ours.Count), $"llama.cpp left our greedy path at token {prefix}, though our margins exceed 2 x {tolerance:G3} up to token {decisive}.");
        }

        return new Measured(prefix, Math.Max(ours.Count, theirs.Count), diff, tolerance);
    }

    private static double Margin(float[] logits)
    {
        float first = float.NegativeInfinity, second = float.NegativeInfinity;
        foreach (float v in logits)
        {
            if (v > first)
            {
                second = first;
                first = v;
            }
            else if (v > second)
            {
                second = v;
            }
        }

        return first - second;
    }

    /// <summary>Agreeing leading tokens out of the longer sequence, and the first-step logit difference and its bound.</summary>
    internal sealed record Measured(int AgreeingTokens, int Tokens, double LogitDiff, double Tolerance)
    {
        public override string ToString() => $"{AgreeingTokens}/{Tokens} tokens, first-step logits |diff| {LogitDiff:G3} (bound {Tolerance:G3})";
    }
}

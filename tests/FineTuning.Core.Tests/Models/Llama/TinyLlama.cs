using System;
using System.Collections.Generic;
using System.Linq;
using FineTuning.Models.Llama;
using FineTuning.Models.Tokenizers;
using TorchSharp;

namespace FineTuning.Core.Tests.Models.Llama;

/// <summary>Tiny random LLaMA models and a one-character-per-token tokenizer for fast tests.</summary>
internal static class TinyLlama
{
    internal static LlamaConfig Config(int kvHeads = 2, bool tied = false, bool bias = false) => new()
    {
        HiddenSize = 32,
        IntermediateSize = 48,
        NumHiddenLayers = 2,
        NumAttentionHeads = 4,
        NumKeyValueHeads = kvHeads,
        VocabSize = CharTokenizer.Alphabet.Length + 3,
        RmsNormEps = 1e-5,
        RopeTheta = 10000,
        MaxPositionEmbeddings = 128,
        TieWordEmbeddings = tied,
        AttentionBias = bias,
    };

    /// <summary>A model with seeded normal(0, 0.3) weights (wide enough that greedy choices are not near ties).</summary>
    /// <param name="config">The architecture.</param>
    /// <param name="seed">Seed of the weights.</param>
    /// <param name="dtype">Parameter type: float64 for tests that claim two computations are the same function.</param>
    internal static LlamaForCausalLM Create(LlamaConfig config, ulong seed = 42, torch.ScalarType dtype = torch.ScalarType.Float32)
    {
        var model = new LlamaForCausalLM(config);
        using var generator = new torch.Generator(seed, torch.CPU);
        model.InitializeWeights(generator, std: 0.3);
        if (config.AttentionBias)
        {
            // Non-zero biases, so that the test notices if they are dropped.
            using var noGrad = torch.no_grad();
            foreach ((string name, var p) in model.named_parameters().Where(p => p.name.EndsWith(".bias", StringComparison.Ordinal)))
            {
                p.normal_(0, 0.3, generator);
            }
        }

        if (dtype != torch.ScalarType.Float32) model.to(dtype);
        model.eval();
        return model;
    }
}

/// <summary>Test tokenizer: 0 unk, 1 BOS, 2 EOS, then one token per character of <see cref="Alphabet"/>.</summary>
internal sealed class CharTokenizer : ITokenizer
{
    internal const string Alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .";

    public int VocabSize => Alphabet.Length + 3;

    public int BosId => 1;

    public int EosId => 2;

    public IReadOnlyList<int> Encode(string text, bool addBos)
    {
        var ids = new List<int>();
        if (addBos) ids.Add(BosId);
        ids.AddRange(text.Select(c => Alphabet.IndexOf(c, StringComparison.Ordinal) is var i and >= 0 ? i + 3 : 0));
        return ids;
    }

    public string Decode(IEnumerable<int> ids) =>
        string.Concat(ids.Where(i => i > 2).Select(i => Alphabet[i - 3]));
}

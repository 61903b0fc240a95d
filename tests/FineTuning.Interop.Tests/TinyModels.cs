using System;
using System.Collections.Generic;
using System.Linq;
using FineTuning.Models.Gguf;
using FineTuning.Models.Llama;
using FineTuning.Models.Tokenizers;
using TorchSharp;

namespace FineTuning.Interop.Tests;

/// <summary>Tiny random HF-layout LLaMA-family models and a one-character-per-token vocabulary.</summary>
internal static class TinyHfModels
{
    internal const string Alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .";

    /// <summary>LLaMA with grouped-query attention (4 query heads, 2 KV heads), untied head: the rows of q/k get permuted.</summary>
    internal static LlamaConfig LlamaGqa() => Config("llama", bias: false);

    /// <summary>Qwen2: q/k/v biases, no o_proj bias, half rotation (no permutation), GQA, tied embeddings.</summary>
    internal static LlamaConfig Qwen2() => Config("qwen2", bias: true) with { OutputProjectionBias = false, TieWordEmbeddings = true, RopeTheta = 1000000 };

    /// <summary>Mistral with an explicit head_dim (32) that is not hidden / heads (16): llama.cpp reads it from key_length.</summary>
    internal static LlamaConfig MistralHeadDim() => Config("mistral", bias: false) with { HeadDim = 32, SlidingWindow = 64 };

    private static LlamaConfig Config(string type, bool bias) => new()
    {
        ModelType = type, HiddenSize = 64, IntermediateSize = 96, NumHiddenLayers = 2, NumAttentionHeads = 4, NumKeyValueHeads = 2,
        VocabSize = Alphabet.Length + 3, RmsNormEps = 1e-6, MaxPositionEmbeddings = 128, AttentionBias = bias,
    };

    /// <summary>Seeded N(0, 1/64) weights and biases: unit gain per matrix (fan-in 64), as <see cref="Agreement"/>'s bound assumes.</summary>
    internal static LlamaForCausalLM Create(LlamaConfig config, ulong seed)
    {
        var model = new LlamaForCausalLM(config);
        using var generator = new torch.Generator(seed, torch.CPU);
        model.InitializeWeights(generator, std: 0.125);
        using var noGrad = torch.no_grad();
        foreach ((string _, var p) in model.named_parameters().Where(p => p.name.EndsWith(".bias", StringComparison.Ordinal)))
        {
            p.normal_(0, 0.125, generator);
        }

        model.eval();
        return model;
    }

    /// <summary>The character vocabulary as SentencePiece (<c>llama</c>) or byte-level BPE (<c>gpt2</c>, no merges) pieces.</summary>
    internal static GgufVocabulary Vocabulary(string kind)
    {
        var tokens = new List<string> { "<unk>", "<s>", "</s>" };
        tokens.AddRange(Alphabet.Select(c => c != ' ' ? c.ToString() : kind == "llama" ? GgufVocabulary.SentencePieceSpace : "\u0120"));
        var types = tokens.Select((_, i) => i == 0 ? GgufTokenType.Unknown : i < 3 ? GgufTokenType.Control : GgufTokenType.Normal).ToArray();
        return new GgufVocabulary
        {
            Model = kind, Tokens = tokens, TokenTypes = types, Scores = kind == "llama" ? tokens.Select(_ => 0f).ToArray() : null,
            Merges = kind == "gpt2" ? Array.Empty<string>() : null, PreTokenizer = kind == "gpt2" ? "qwen2" : null,
            BosTokenId = 1, EosTokenId = 2, UnknownTokenId = 0, AddBosToken = true,
        };
    }
}

/// <summary>One token per character of <see cref="TinyHfModels.Alphabet"/> after 0 unk, 1 BOS, 2 EOS.</summary>
internal sealed class CharTokenizer : ITokenizer
{
    public int VocabSize => TinyHfModels.Alphabet.Length + 3;

    public int BosId => 1;

    public int EosId => 2;

    public IReadOnlyList<int> Encode(string text, bool addBos)
    {
        var ids = new List<int>();
        if (addBos) ids.Add(BosId);
        ids.AddRange(text.Select(c => TinyHfModels.Alphabet.IndexOf(c, StringComparison.Ordinal) is var i and >= 0 ? i + 3 : 0));
        return ids;
    }

    public string Decode(IEnumerable<int> ids) => string.Concat(ids.Where(i => i > 2).Select(i => TinyHfModels.Alphabet[i - 3]));
}

using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using FineTuning.Models.Gguf;
using FineTuning.Models.Llama;
using FineTuning.Models.Tests.Tokenizers;
using FineTuning.Models.Tokenizers;
using FineTuning.Testing;
using Xunit;

namespace FineTuning.Interop.Tests;

/// <summary>GGUF vocabularies from a real byte-level BPE tokenizer.json, tokenized by llama.cpp.</summary>
public sealed class VocabularyGgufTests : IDisposable
{
    private static readonly string[] Corpus =
    {
        "Hello world!", "It's 2024; don't panic, we'll see.", "  leading and trailing spaces  ", "naïve café — ünïcödé Ωμέγα",
        "tabs\tand\nnew\n\nlines", "1234567 numbers 3.14159", "emoji 🙂👍 and 中文字符", "GPT-2's byte-level BPE: (a+b)*c = d/e",
    };

    private readonly TempDirectory folder = new("ft-gguf-");

    public void Dispose() => folder.Dispose();

    [Fact]
    public void FromHfTokenizer_Gpt2Vocabulary_LlamaCppTokenizesLikeOurHfTokenizer()
    {
        HfTokenizer tokenizer = HfTokenizer.Parse(Gpt2TokenizerJson.Json);
        GgufVocabulary vocabulary = GgufVocabulary.FromHfTokenizer(tokenizer, "gpt-2");
        Assert.Equal(50257, vocabulary.Tokens.Count);
        Assert.Equal(50000, vocabulary.Merges!.Count);
        Assert.Equal("\u0120 t", vocabulary.Merges[0]); // GPT-2's first merge: space + t
        Assert.Equal(GgufTokenType.Control, vocabulary.TokenTypes![50256]);

        // A one-layer model only to carry the vocabulary; llama.cpp loads the vocabulary alone.
        var config = new LlamaConfig
        {
            HiddenSize = 32, IntermediateSize = 32, NumHiddenLayers = 1, NumAttentionHeads = 2, VocabSize = tokenizer.VocabSize, MaxPositionEmbeddings = 64,
        };
        using var model = new LlamaForCausalLM(config);
        string path = folder.File("gpt2-vocab.gguf");
        GgufExporter.Save(model, vocabulary, path);

        List<int[]> theirs = LlamaCppRunner.TokenizeVocabularyOnly(path, Corpus);
        for (int i = 0; i < Corpus.Length; i++)
        {
            IReadOnlyList<int> ours = tokenizer.Encode(Corpus[i], addBos: false);
            Assert.True(ours.SequenceEqual(theirs[i]), $"\"{Corpus[i]}\": ours [{string.Join(",", ours)}], llama.cpp [{string.Join(",", theirs[i])}]");
        }
    }

    [Fact]
    public void FromHfTokenizer_SentencePieceStyleTokenizer_NotSupportedYet()
    {
        const string json = """
            {"version": "1.0", "added_tokens": [], "normalizer": null, "pre_tokenizer": null, "post_processor": null, "decoder": null,
             "model": {"type": "BPE", "byte_fallback": true, "vocab": {"<unk>": 0, "a": 1}, "merges": []}}
            """;
        NotSupportedException e = Assert.Throws<NotSupportedException>(() => GgufVocabulary.FromHfTokenizer(HfTokenizer.Parse(json), "default"));
        Assert.Contains("not supported yet", e.Message, StringComparison.Ordinal);
    }
}

using System;
using System.Collections.Generic;
using System.Linq;
using FineTuning.Models.Tokenizers;

namespace FineTuning.Models.Gguf;

/// <summary>
/// The tokenizer as GGUF stores it (the <c>tokenizer.ggml.*</c> keys llama.cpp reads): the model kind, one entry per
/// token id (piece, score, type), BPE merges, the pre-tokenizer name, the special token ids and the chat template.
/// Build one with <see cref="FromLlama2C"/> or set the properties yourself.
/// </summary>
public sealed class GgufVocabulary
{
    /// <summary>The word marker SentencePiece uses for a space (U+2581).</summary>
    public const string SentencePieceSpace = "\u2581";

    /// <summary><c>tokenizer.ggml.model</c>: <c>llama</c> for SentencePiece-style vocabularies (scores, byte fallback), <c>gpt2</c> for byte-level BPE (merges).</summary>
    public string Model { get; init; } = "llama";

    /// <summary><c>tokenizer.ggml.tokens</c>: the piece of every token id, in id order.</summary>
    public required IReadOnlyList<string> Tokens { get; init; }

    /// <summary><c>tokenizer.ggml.scores</c>: merge priority per token (SentencePiece); null writes none.</summary>
    public IReadOnlyList<float>? Scores { get; init; }

    /// <summary><c>tokenizer.ggml.token_type</c>: the kind of every token; null writes none.</summary>
    public IReadOnlyList<GgufTokenType>? TokenTypes { get; init; }

    /// <summary><c>tokenizer.ggml.merges</c>: BPE merges as "left right", highest priority first (required for <c>gpt2</c>).</summary>
    public IReadOnlyList<string>? Merges { get; init; }

    /// <summary><c>tokenizer.ggml.pre</c>: llama.cpp's name of the pre-tokenizer of a BPE vocabulary (e.g. <c>default</c>, <c>qwen2</c>); null writes none.</summary>
    public string? PreTokenizer { get; init; }

    /// <summary><c>tokenizer.ggml.bos_token_id</c>.</summary>
    public int? BosTokenId { get; init; }

    /// <summary><c>tokenizer.ggml.eos_token_id</c>.</summary>
    public int? EosTokenId { get; init; }

    /// <summary><c>tokenizer.ggml.unknown_token_id</c>.</summary>
    public int? UnknownTokenId { get; init; }

    /// <summary><c>tokenizer.ggml.padding_token_id</c>.</summary>
    public int? PaddingTokenId { get; init; }

    /// <summary><c>tokenizer.ggml.add_bos_token</c>: whether llama.cpp prepends BOS when tokenizing.</summary>
    public bool? AddBosToken { get; init; }

    /// <summary><c>tokenizer.ggml.add_eos_token</c>: whether llama.cpp appends EOS when tokenizing.</summary>
    public bool? AddEosToken { get; init; }

    /// <summary><c>tokenizer.ggml.add_space_prefix</c>: SentencePiece's dummy prefix (a space before the text).</summary>
    public bool? AddSpacePrefix { get; init; }

    /// <summary><c>tokenizer.chat_template</c>: the Jinja chat template, when the model has one.</summary>
    public string? ChatTemplate { get; init; }

    /// <summary>
    /// The vocabulary of a llama2.c tokenizer (<c>tokenizer.bin</c>, <c>tok512.bin</c>) as llama.cpp's SentencePiece
    /// (<c>llama</c>) tokenizer reads it: the spaces that llama2.c's export put in place of U+2581 are turned back,
    /// 0 is <c>&lt;unk&gt;</c>, 1 and 2 are the control tokens BOS and EOS, 3..258 are the byte tokens.
    /// </summary>
    /// <param name="tokenizer">The tokenizer.</param>
    /// <returns>The vocabulary.</returns>
    public static GgufVocabulary FromLlama2C(Llama2CTokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        int n = tokenizer.VocabSize;
        var tokens = new string[n];
        var scores = new float[n];
        var types = new GgufTokenType[n];
        for (int i = 0; i < n; i++)
        {
            tokens[i] = tokenizer.Piece(i).Replace(" ", SentencePieceSpace, StringComparison.Ordinal);
            scores[i] = tokenizer.Score(i);
            types[i] = i == 0 ? GgufTokenType.Unknown
                : i == tokenizer.BosId || i == tokenizer.EosId ? GgufTokenType.Control
                : i < 3 + 256 ? GgufTokenType.Byte
                : GgufTokenType.Normal;
        }

        return new GgufVocabulary
        {
            Model = "llama",
            Tokens = tokens,
            Scores = scores,
            TokenTypes = types,
            BosTokenId = tokenizer.BosId,
            EosTokenId = tokenizer.EosId,
            UnknownTokenId = 0,
            AddBosToken = true,
            AddEosToken = false,
            AddSpacePrefix = true,
        };
    }

    /// <summary>
    /// The vocabulary of a byte-level BPE <c>tokenizer.json</c> (GPT-2, Qwen2, LLaMA-3, SmolLM) as llama.cpp's <c>gpt2</c>
    /// tokenizer reads it: tokens in id order (ids no token uses become <c>[PADn]</c>, unused, as llama.cpp's converter
    /// writes them), merges by priority, special added tokens as control tokens, other added tokens as user-defined.
    /// </summary>
    /// <param name="tokenizer">The tokenizer.</param>
    /// <param name="preTokenizer">llama.cpp's name of its pre-tokenizer (<c>tokenizer.ggml.pre</c>): e.g. <c>gpt-2</c>,
    /// <c>qwen2</c>, <c>llama-bpe</c> (LLaMA-3), <c>smollm</c>; llama.cpp's converter identifies it by hashing the
    /// tokenizer's output, which cannot be done here, so the caller names it.</param>
    /// <returns>The vocabulary.</returns>
    /// <exception cref="NotSupportedException">A WordPiece or SentencePiece-style (byte-fallback) tokenizer.json: not supported yet.</exception>
    public static GgufVocabulary FromHfTokenizer(HfTokenizer tokenizer, string preTokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentException.ThrowIfNullOrWhiteSpace(preTokenizer);
        if (tokenizer.Parts.Model is not HfBpeModel bpe) throw new NotSupportedException($"GGUF vocabularies from a {tokenizer.ModelType} tokenizer.json are not supported yet (byte-level BPE is).");
        if (bpe.ByteFallback) throw new NotSupportedException("GGUF vocabularies from a SentencePiece-style (byte_fallback) tokenizer.json are not supported yet (byte-level BPE is).");
        for (int b = 0; b < 256; b++)
        {
            if (!bpe.Vocabulary.ContainsKey(ByteLevelAlphabet.CharOf((byte)b).ToString()))
            {
                throw new NotSupportedException($"the tokenizer.json vocabulary lacks the byte-level token of byte {b}: not a byte-level BPE vocabulary (not supported yet).");
            }
        }

        int n = tokenizer.VocabSize;
        var tokens = new string[n];
        var types = new GgufTokenType[n];
        var added = tokenizer.Parts.AddedTokens.Tokens.ToDictionary(t => t.Id);
        for (int i = 0; i < n; i++)
        {
            string? token = tokenizer.IdToToken(i);
            tokens[i] = token ?? $"[PAD{i}]";
            types[i] = token is null ? GgufTokenType.Unused
                : added.TryGetValue(i, out HfAddedToken? a) ? (a.Special ? GgufTokenType.Control : GgufTokenType.UserDefined)
                : GgufTokenType.Normal;
        }

        return new GgufVocabulary
        {
            Model = "gpt2",
            PreTokenizer = preTokenizer,
            Tokens = tokens,
            TokenTypes = types,
            Merges = bpe.MergesByRank().Select(m => tokens[m.Left] + " " + tokens[m.Right]).ToArray(),
            BosTokenId = tokenizer.BosId >= 0 ? tokenizer.BosId : null,
            EosTokenId = tokenizer.EosId >= 0 ? tokenizer.EosId : null,
            AddBosToken = tokenizer.AddBosByDefault,
            AddEosToken = false,
        };
    }

    /// <summary>Every problem with this vocabulary for a model of <paramref name="vocabSize"/> token ids.</summary>
    internal List<string> Problems(int vocabSize)
    {
        var problems = new List<string>();
        if (Model is not ("llama" or "gpt2")) problems.Add($"Model must be \"llama\" or \"gpt2\", got \"{Model}\".");
        if (Tokens is null) { problems.Add("Tokens must not be null."); return problems; }
        if (Tokens.Count != vocabSize) problems.Add($"Tokens has {Tokens.Count} entries, the model has {vocabSize} token ids.");
        if (Tokens.Any(t => t is null)) problems.Add("Tokens must not contain null.");
        if (Scores is not null && Scores.Count != Tokens.Count) problems.Add($"Scores has {Scores.Count} entries, Tokens has {Tokens.Count}.");
        if (TokenTypes is not null && TokenTypes.Count != Tokens.Count) problems.Add($"TokenTypes has {TokenTypes.Count} entries, Tokens has {Tokens.Count}.");
        if (Model == "gpt2" && Merges is null) problems.Add("a gpt2 (byte-level BPE) vocabulary needs Merges.");
        if (Merges is not null && Merges.Any(m => m is null || m.Split(' ').Length != 2)) problems.Add("each merge must be two pieces separated by one space.");
        void Id(string name, int? id)
        {
            if (id is { } v && (v < 0 || v >= Tokens.Count)) problems.Add($"{name} {v} is outside 0..{Tokens.Count - 1}.");
        }

        Id(nameof(BosTokenId), BosTokenId);
        Id(nameof(EosTokenId), EosTokenId);
        Id(nameof(UnknownTokenId), UnknownTokenId);
        Id(nameof(PaddingTokenId), PaddingTokenId);
        return problems;
    }

    /// <summary>Adds the <c>tokenizer.*</c> keys; <paramref name="chatTemplate"/> overrides <see cref="ChatTemplate"/>.</summary>
    internal void WriteTo(GgufWriter writer, string? chatTemplate)
    {
        writer.AddString("tokenizer.ggml.model", Model);
        if (PreTokenizer is not null) writer.AddString("tokenizer.ggml.pre", PreTokenizer);
        writer.AddStrings("tokenizer.ggml.tokens", Tokens);
        if (Scores is not null) writer.AddFloat32s("tokenizer.ggml.scores", Scores);
        if (TokenTypes is not null) writer.AddInt32s("tokenizer.ggml.token_type", TokenTypes.Select(t => (int)t).ToArray());
        if (Merges is not null) writer.AddStrings("tokenizer.ggml.merges", Merges);
        if (BosTokenId is { } bos) writer.AddUInt32("tokenizer.ggml.bos_token_id", (uint)bos);
        if (EosTokenId is { } eos) writer.AddUInt32("tokenizer.ggml.eos_token_id", (uint)eos);
        if (UnknownTokenId is { } unk) writer.AddUInt32("tokenizer.ggml.unknown_token_id", (uint)unk);
        if (PaddingTokenId is { } pad) writer.AddUInt32("tokenizer.ggml.padding_token_id", (uint)pad);
        if (AddBosToken is { } addBos) writer.AddBool("tokenizer.ggml.add_bos_token", addBos);
        if (AddEosToken is { } addEos) writer.AddBool("tokenizer.ggml.add_eos_token", addEos);
        if (AddSpacePrefix is { } space) writer.AddBool("tokenizer.ggml.add_space_prefix", space);
        if ((chatTemplate ?? ChatTemplate) is { } template) writer.AddString("tokenizer.chat_template", template);
    }
}

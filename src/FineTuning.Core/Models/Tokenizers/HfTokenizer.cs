using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace FineTuning.Models.Tokenizers;

/// <summary>
/// A tokenizer read from a Hugging Face <c>tokenizer.json</c> (the tokenizers library's format): byte-level BPE
/// (GPT-2, LLaMA-3, Qwen2, SmolLM), SentencePiece-style BPE with byte fallback and the ▁ metaspace (LLaMA-2,
/// TinyLlama, Mistral) and WordPiece (BERT). Text goes through the same stages as in the tokenizers library:
/// added tokens are cut out of the raw text, each remaining piece is normalized, pre-tokenized and split by the
/// model; decoding maps ids to tokens, drops special tokens and runs the decoder chain.
/// </summary>
/// <remarks>Instances are immutable apart from an internal cache and can be shared between threads.</remarks>
public sealed class HfTokenizer : ITokenizer
{
    private const string TokenizerFileName = "tokenizer.json";
    private const string ConfigFileName = "tokenizer_config.json";
    private readonly HfTokenizerParts parts;
    private readonly string?[] tokens;
    private readonly bool[] skipOnDecode;

    private HfTokenizer(HfTokenizerParts parts, string tokenizerJson, string? tokenizerConfigJson)
    {
        this.parts = parts;
        TokenizerJson = tokenizerJson;
        TokenizerConfigJson = tokenizerConfigJson;
        int size = 0;
        foreach (int id in parts.Model.Vocabulary.Values) size = Math.Max(size, id + 1);
        foreach (HfAddedToken t in parts.AddedTokens.Tokens) size = Math.Max(size, t.Id + 1);
        tokens = new string?[size];
        skipOnDecode = new bool[size];
        foreach ((string token, int id) in parts.Model.Vocabulary) tokens[id] = token;
        foreach (HfAddedToken t in parts.AddedTokens.Tokens)
        {
            tokens[t.Id] = t.Content;
            skipOnDecode[t.Id] = t.Special;
        }
        if (parts.BosId >= 0) skipOnDecode[parts.BosId] = true;
        if (parts.EosId >= 0) skipOnDecode[parts.EosId] = true;
    }

    /// <inheritdoc />
    public int VocabSize => tokens.Length;

    /// <summary>The tokenizer.json text this tokenizer was read from (written back by <c>HfCheckpoint.Save</c>).</summary>
    internal string TokenizerJson { get; }

    /// <summary>The tokenizer_config.json text, or null when there was none.</summary>
    internal string? TokenizerConfigJson { get; }
    /// <summary>The parts read from the files (model, pre-tokenizer, added tokens), for exporters.</summary>
    internal HfTokenizerParts Parts => parts;

    /// <summary>Whether <paramref name="id"/> is a special added token (skipped on decode).</summary>
    internal bool IsSpecial(int id) => (uint)id < (uint)skipOnDecode.Length && skipOnDecode[id];

    /// <summary>The beginning-of-sequence id: tokenizer_config.json's <c>bos_token</c>, else the token the
    /// post-processor puts first, else a special added token with a well-known name (<c>&lt;s&gt;</c>,
    /// <c>&lt;|begin_of_text|&gt;</c>, <c>&lt;|endoftext|&gt;</c>, <c>[CLS]</c>); -1 when there is none.</summary>
    public int BosId => parts.BosId;

    /// <summary>The end-of-sequence id, found like <see cref="BosId"/> (<c>eos_token</c>, the post-processor's
    /// last token, <c>&lt;/s&gt;</c>, <c>&lt;|end_of_text|&gt;</c>, <c>&lt;|endoftext|&gt;</c>, <c>[SEP]</c>); -1 when there is none.</summary>
    public int EosId => parts.EosId;

    /// <summary>Whether the model expects a BOS: tokenizer_config.json's <c>add_bos_token</c>, else whether the
    /// post-processor adds one. Callers pass it as <c>addBos</c>.</summary>
    public bool AddBosByDefault => parts.AddBosByDefault;

    /// <summary>The tokenizer.json <c>model.type</c>: <c>BPE</c> or <c>WordPiece</c>.</summary>
    public string ModelType => parts.ModelType;

    /// <summary>Reads a tokenizer from a checkpoint folder (tokenizer.json and, when present, tokenizer_config.json)
    /// or from a tokenizer.json file and an optional tokenizer_config.json.</summary>
    /// <param name="path">A folder holding tokenizer.json, or the tokenizer.json file itself.</param>
    /// <param name="tokenizerConfigPath">tokenizer_config.json; when null and <paramref name="path"/> is a folder, the
    /// folder's tokenizer_config.json is used if it exists.</param>
    /// <returns>The tokenizer.</returns>
    /// <exception cref="ModelFileException">A file is not valid JSON, lacks a required field, holds a wrong value,
    /// or uses a component that is not supported; the message names the file and the field.</exception>
    /// <exception cref="FileNotFoundException">A file does not exist.</exception>
    public static HfTokenizer Load(string path, string? tokenizerConfigPath = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        string tokenizerPath = path;
        if (Directory.Exists(path))
        {
            tokenizerPath = Path.Combine(path, TokenizerFileName);
            string sibling = Path.Combine(path, ConfigFileName);
            if (tokenizerConfigPath is null && File.Exists(sibling)) tokenizerConfigPath = sibling;
        }
        string json = File.ReadAllText(tokenizerPath);
        string? config = tokenizerConfigPath is null ? null : File.ReadAllText(tokenizerConfigPath);
        return new HfTokenizer(HfTokenizerReader.Read(json, tokenizerPath, config, tokenizerConfigPath ?? ConfigFileName), json, config);
    }

    /// <summary>Reads a tokenizer from the text of a tokenizer.json and an optional tokenizer_config.json.</summary>
    /// <param name="tokenizerJson">The content of tokenizer.json.</param>
    /// <param name="tokenizerConfigJson">The content of tokenizer_config.json, or null.</param>
    /// <returns>The tokenizer.</returns>
    /// <exception cref="ModelFileException">As for <see cref="Load"/>; the file names are tokenizer.json and tokenizer_config.json.</exception>
    public static HfTokenizer Parse(string tokenizerJson, string? tokenizerConfigJson = null)
    {
        ArgumentNullException.ThrowIfNull(tokenizerJson);
        return new HfTokenizer(HfTokenizerReader.Read(tokenizerJson, TokenizerFileName, tokenizerConfigJson, ConfigFileName), tokenizerJson, tokenizerConfigJson);
    }

    /// <summary>Token ids of <paramref name="text"/>; added tokens (such as <c>&lt;|endoftext|&gt;</c>) written in the
    /// text become their ids, as in the tokenizers library.</summary>
    /// <param name="text">The text.</param>
    /// <param name="addBos">Whether to prepend <see cref="BosId"/> (see <see cref="AddBosByDefault"/>).</param>
    /// <returns>The ids.</returns>
    /// <exception cref="InvalidOperationException"><paramref name="addBos"/> is true but the tokenizer has no BOS.</exception>
    public IReadOnlyList<int> Encode(string text, bool addBos)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length / 3 + 2);
        if (addBos)
        {
            if (BosId < 0) throw new InvalidOperationException("This tokenizer has no BOS token (none in tokenizer_config.json, the post-processor or the added tokens).");
            ids.Add(BosId);
        }
        var pieces = new List<HfPiece>();
        parts.AddedTokens.Split(text, (piece, id) =>
        {
            if (piece is not { } p)
            {
                ids.Add(id);
                return;
            }
            var normalized = p with { Text = parts.Normalizer?.Normalize(p.Text) ?? p.Text };
            pieces.Clear();
            if (parts.PreTokenizer is null) pieces.Add(normalized);
            else parts.PreTokenizer.Split(normalized, pieces);
            foreach (HfPiece word in pieces) parts.Model.Tokenize(word.Text, ids);
        });
        return ids;
    }

    /// <summary>The text of <paramref name="ids"/>; special tokens (and BOS/EOS) produce no text.</summary>
    /// <param name="ids">Token ids.</param>
    /// <returns>The text; invalid UTF-8 becomes U+FFFD.</returns>
    /// <exception cref="ArgumentOutOfRangeException">An id is not in the vocabulary.</exception>
    public string Decode(IEnumerable<int> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var pieces = new List<string>();
        foreach (int id in ids)
        {
            if ((uint)id >= (uint)tokens.Length || tokens[id] is null) throw new ArgumentOutOfRangeException(nameof(ids), id, "not a token id of this tokenizer.");
            if (!skipOnDecode[id]) pieces.Add(tokens[id]!);
        }
        return parts.Decoder is null ? string.Join(' ', pieces) : string.Concat(parts.Decoder.Decode(pieces));
    }

    /// <summary>The id of a token string (an added token or a vocabulary entry), or null.</summary>
    /// <param name="token">The token as written in tokenizer.json (byte-level tokens use GPT-2's mapped characters, e.g. <c>Ġthe</c>).</param>
    /// <returns>The id, or null.</returns>
    public int? TokenToId(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        return HfTokenizerReader.IdOf(parts.Model, parts.AddedTokens, token);
    }

    /// <summary>The token string of <paramref name="id"/>, or null when the id is unused.</summary>
    /// <param name="id">A token id.</param>
    /// <returns>The token, or null.</returns>
    public string? IdToToken(int id) => (uint)id < (uint)tokens.Length ? tokens[id] : null;

    /// <summary>The added tokens flagged <c>special</c>, by content.</summary>
    public IReadOnlyDictionary<string, int> SpecialTokens =>
        parts.AddedTokens.Tokens.Where(t => t.Special).GroupBy(t => t.Content).ToDictionary(g => g.Key, g => g.First().Id);
}

using System;
using System.Collections.Generic;
using System.Linq;

namespace FineTuning.Models.Tokenizers;

/// <summary>
/// A tokenizer extended with new special tokens (Hugging Face's <c>tokenizer.add_special_tokens</c>), e.g. chat markers
/// <c>&lt;|im_start|&gt;</c> / <c>&lt;|im_end|&gt;</c> for a base model that has none. The new tokens get the ids
/// after the inner tokenizer's (<c>inner.VocabSize</c>, ...); <see cref="Encode"/> cuts the text at every occurrence
/// of one (longest first) and encodes the text between with the inner tokenizer; <see cref="Decode"/> drops them, as
/// for BOS and EOS. Pair it with <c>LlamaForCausalLM.ResizeTokenEmbeddings(tokenizer.VocabSize)</c>, and
/// <see cref="Data.ChatLabeler"/>, chat generation and SFT map the template's markers to these ids.
/// </summary>
public sealed class AddedTokensTokenizer : IContinuationTokenizer
{
    private readonly ITokenizer _inner;
    private readonly Dictionary<string, int> _ids;
    private readonly string[] _longestFirst;

    /// <summary>Adds <paramref name="specialTokens"/> (in order) to <paramref name="inner"/>.</summary>
    /// <param name="inner">The model's tokenizer.</param>
    /// <param name="specialTokens">The new tokens' texts; non-empty, distinct.</param>
    /// <exception cref="ArgumentException">A token is empty or listed twice.</exception>
    public AddedTokensTokenizer(ITokenizer inner, IEnumerable<string> specialTokens)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(specialTokens);
        _inner = inner;
        _ids = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (string token in specialTokens)
        {
            if (string.IsNullOrEmpty(token)) throw new ArgumentException("A special token must be non-empty text.", nameof(specialTokens));
            if (!_ids.TryAdd(token, inner.VocabSize + _ids.Count)) throw new ArgumentException($"The special token \"{token}\" is listed twice.", nameof(specialTokens));
        }

        _longestFirst = _ids.Keys.OrderByDescending(t => t.Length).ThenBy(t => t, StringComparer.Ordinal).ToArray();
    }

    /// <inheritdoc />
    public int VocabSize => _inner.VocabSize + _ids.Count;

    /// <inheritdoc />
    public int BosId => _inner.BosId;

    /// <inheritdoc />
    public int EosId => _inner.EosId;

    /// <summary>The added tokens by text, with their ids.</summary>
    public IReadOnlyDictionary<string, int> SpecialTokens => _ids;

    /// <inheritdoc />
    public IReadOnlyList<int> Encode(string text, bool addBos) => EncodeCore(text, addBos, continuation: false);

    /// <inheritdoc />
    public IReadOnlyList<int> EncodeContinuation(string text) => EncodeCore(text, addBos: false, continuation: true);

    /// <inheritdoc />
    public string Decode(IEnumerable<int> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        return _inner.Decode(ids.Where(i => i < _inner.VocabSize));
    }

    private List<int> EncodeCore(string text, bool addBos, bool continuation)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>();
        if (addBos) ids.Add(BosId);
        int start = 0;
        bool first = !continuation;
        while (start < text.Length)
        {
            (int at, string? token) = Next(text, start);
            if (at > start)
            {
                string piece = text[start..at];
                ids.AddRange(!first && _inner is IContinuationTokenizer c ? c.EncodeContinuation(piece) : _inner.Encode(piece, addBos: false));
                first = false;
            }

            if (token is null) break;
            ids.Add(_ids[token]);
            start = at + token.Length;
        }

        return ids;
    }

    /// <summary>The earliest added token at or after <paramref name="from"/> (the longest one at that position).</summary>
    private (int At, string? Token) Next(string text, int from)
    {
        int best = text.Length;
        string? found = null;
        foreach (string token in _longestFirst)
        {
            int at = text.IndexOf(token, from, StringComparison.Ordinal);
            if (at >= 0 && at < best)
            {
                best = at;
                found = token;
            }
        }

        return (best, found);
    }
}

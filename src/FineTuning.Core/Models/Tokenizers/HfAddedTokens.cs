using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;
using FineTuning.Json;

namespace FineTuning.Models.Tokenizers;

/// <summary>One entry of tokenizer.json <c>added_tokens</c>.</summary>
internal sealed record HfAddedToken(int Id, string Content, bool Special, bool LStrip, bool RStrip, bool SingleWord);

/// <summary>
/// Finds added tokens in raw text before the normalizer and the model see it, as the tokenizers library's
/// <c>AddedVocabulary</c>: leftmost match first, the longest one where several start at the same place;
/// <c>lstrip</c>/<c>rstrip</c> swallow the whitespace beside a match; <c>single_word</c> requires word boundaries.
/// </summary>
internal sealed class HfAddedTokens
{
    private readonly Dictionary<char, HfAddedToken[]> byFirstChar;

    internal HfAddedTokens(IReadOnlyList<HfAddedToken> tokens)
    {
        Tokens = tokens;
        byFirstChar = tokens.Where(t => t.Content.Length > 0).GroupBy(t => t.Content[0])
            .ToDictionary(g => g.Key, g => g.OrderByDescending(t => t.Content.Length).ToArray());
    }

    internal IReadOnlyList<HfAddedToken> Tokens { get; }

    /// <summary>Reads <c>added_tokens</c>; ids must lie in [0, <see cref="HfVocabulary.MaxId"/>] of all the file's tokens.</summary>
    internal static HfAddedTokens Read(JsonFieldReader json, JsonElement? element, string path, int vocabularyEntries)
    {
        var tokens = new List<HfAddedToken>();
        if (element is { } e)
        {
            int maxId = HfVocabulary.MaxId(vocabularyEntries + (long)json.Array(e, path).Count());
            foreach ((JsonElement item, string itemPath) in json.Array(e, path))
            {
                tokens.Add(new HfAddedToken(json.RequiredInt(item, itemPath, "id", 0, maxId), json.RequiredString(item, itemPath, "content"),
                    json.OptionalBool(item, itemPath, "special", false), json.OptionalBool(item, itemPath, "lstrip", false),
                    json.OptionalBool(item, itemPath, "rstrip", false), json.OptionalBool(item, itemPath, "single_word", false)));
            }
        }
        return new HfAddedTokens(tokens);
    }

    /// <summary>Cuts <paramref name="text"/> into plain pieces and added-token ids, in order.</summary>
    /// <param name="text">Raw text.</param>
    /// <param name="visit">Called with (piece, -1) for text and (null, id) for an added token.</param>
    internal void Split(string text, Action<HfPiece?, int> visit)
    {
        int pieceStart = 0;
        int i = 0;
        while (i < text.Length)
        {
            if (!byFirstChar.TryGetValue(text[i], out HfAddedToken[]? candidates) || Match(text, i, candidates) is not { } token)
            {
                i++;
                continue;
            }
            int start = i, end = i + token.Content.Length;
            if (token.LStrip) while (start > pieceStart && char.IsWhiteSpace(text[start - 1])) start--;
            if (token.RStrip) while (end < text.Length && char.IsWhiteSpace(text[end])) end++;
            if (start > pieceStart) visit(new HfPiece(text[pieceStart..start], pieceStart == 0), -1);
            visit(null, token.Id);
            pieceStart = i = end;
        }
        if (pieceStart < text.Length) visit(new HfPiece(text[pieceStart..], pieceStart == 0), -1);
    }

    private static HfAddedToken? Match(string text, int at, HfAddedToken[] candidates)
    {
        foreach (HfAddedToken t in candidates)
        {
            if (t.Content.Length > text.Length - at || string.CompareOrdinal(text, at, t.Content, 0, t.Content.Length) != 0) continue;
            if (t.SingleWord && (IsWordChar(text, at - 1) || IsWordChar(text, at + t.Content.Length))) continue;
            return t;
        }
        return null;
    }

    private static bool IsWordChar(string text, int i) => i >= 0 && i < text.Length && (char.IsLetterOrDigit(text[i]) || text[i] == '_');
}

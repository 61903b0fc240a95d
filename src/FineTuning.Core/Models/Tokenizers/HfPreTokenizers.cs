using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Text.Json;
using FineTuning.Json;
using FineTuning.Models.Bert;

namespace FineTuning.Models.Tokenizers;

/// <summary>A piece of text on its way to the model; <paramref name="AtStart"/> = it begins the original text.</summary>
internal readonly record struct HfPiece(string Text, bool AtStart);

/// <summary>One step of a tokenizer.json <c>pre_tokenizer</c>: splits each piece into smaller pieces.</summary>
internal interface IHfPreTokenizer
{
    void Split(HfPiece piece, List<HfPiece> output);
}

/// <summary>Builds the pre-tokenizers of https://huggingface.co/docs/tokenizers/api/pre-tokenizers from JSON.</summary>
internal static class HfPreTokenizers
{
    /// <summary>GPT-2's pattern, used by <c>ByteLevel</c> with <c>use_regex</c>.</summary>
    internal const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    internal static IHfPreTokenizer? Read(JsonFieldReader json, JsonElement? element, string path)
    {
        if (element is not { } e) return null;
        string type = json.RequiredString(e, path, "type");
        switch (type)
        {
            case "Sequence":
                return new Chain(json.Array(json.Required(e, path, "pretokenizers"), path + ".pretokenizers")
                    .Select(p => Read(json, p.Item, p.Path)!).ToArray());
            case "ByteLevel":
                return new ByteLevel(json.OptionalBool(e, path, "add_prefix_space", true), json.OptionalBool(e, path, "use_regex", true));
            case "Metaspace":
                return new Metaspace(HfMetaspace.Read(json, e, path), json.OptionalBool(e, path, "split", true));
            case "Split":
                return new RegexSplit(HfPattern.Read(json, json.Required(e, path, "pattern"), path + ".pattern"),
                    ReadBehavior(json, json.RequiredString(e, path, "behavior"), path + ".behavior"), json.OptionalBool(e, path, "invert", false));
            case "Digits":
                return new RegexSplit(HfPattern.Read(json, Regex(json.OptionalBool(e, path, "individual_digits", false) ? @"\p{N}" : @"\p{N}+"), path),
                    SplitBehavior.Isolated, invert: false);
            case "Whitespace":
                return new RegexSplit(HfPattern.Read(json, Regex(@"\w+|[^\w\s]+"), path), SplitBehavior.Removed, invert: true);
            case "WhitespaceSplit":
                return new RegexSplit(HfPattern.Read(json, Regex(@"\s+"), path), SplitBehavior.Removed, invert: false);
            case "BertPreTokenizer":
                return new BertSplit();
            default:
                throw json.Error(path + ".type", $"pre-tokenizer '{type}' is not supported.");
        }
    }

    private static JsonElement Regex(string pattern)
    {
        using JsonDocument doc = JsonDocument.Parse(JsonSerializer.Serialize(new Dictionary<string, string> { ["Regex"] = pattern }, Json.JsonReflection.Options()));
        return doc.RootElement.Clone();
    }

    private static SplitBehavior ReadBehavior(JsonFieldReader json, string value, string path) => value switch
    {
        "Removed" => SplitBehavior.Removed,
        "Isolated" => SplitBehavior.Isolated,
        "MergedWithPrevious" => SplitBehavior.MergedWithPrevious,
        "MergedWithNext" => SplitBehavior.MergedWithNext,
        "Contiguous" => SplitBehavior.Contiguous,
        _ => throw json.Error(path, $"unknown split behavior '{value}'."),
    };

    /// <summary>Splits <paramref name="piece"/> at <paramref name="matches"/> as the tokenizers library's <c>SplitDelimiterBehavior</c>.</summary>
    internal static void SplitAt(HfPiece piece, IEnumerable<(int Start, int Length)> matches, SplitBehavior behavior, bool invert, List<HfPiece> output)
    {
        string text = piece.Text;
        var segments = new List<(int Start, int End, bool Delimiter)>();
        int at = 0;
        foreach ((int start, int length) in matches)
        {
            if (start > at) segments.Add((at, start, invert));
            segments.Add((start, start + length, !invert));
            at = start + length;
        }
        if (at < text.Length) segments.Add((at, text.Length, invert));

        // As tokenizers' NormalizedString::split: a delimiter merges into its neighbour only when that neighbour is
        // not itself a delimiter ("the-final--countdown", MergedWithNext -> "the" "-final" "-" "-countdown").
        var merged = new List<(int Start, int End)>();
        bool previousMatch = false;
        switch (behavior)
        {
            case SplitBehavior.Removed:
                merged.AddRange(segments.Where(x => !x.Delimiter).Select(x => (x.Start, x.End)));
                break;
            case SplitBehavior.Isolated:
                merged.AddRange(segments.Select(x => (x.Start, x.End)));
                break;
            case SplitBehavior.MergedWithPrevious:
                foreach ((int start, int end, bool delimiter) in segments)
                {
                    if (delimiter && !previousMatch && merged.Count > 0) merged[^1] = (merged[^1].Start, end);
                    else merged.Add((start, end));
                    previousMatch = delimiter;
                }
                break;
            case SplitBehavior.MergedWithNext:
                for (int i = segments.Count - 1; i >= 0; i--)
                {
                    (int start, int end, bool delimiter) = segments[i];
                    if (delimiter && !previousMatch && merged.Count > 0) merged[^1] = (start, merged[^1].End);
                    else merged.Add((start, end));
                    previousMatch = delimiter;
                }
                merged.Reverse();
                break;
            case SplitBehavior.Contiguous:
                foreach ((int start, int end, bool delimiter) in segments)
                {
                    if (delimiter == previousMatch && merged.Count > 0) merged[^1] = (merged[^1].Start, end);
                    else merged.Add((start, end));
                    previousMatch = delimiter;
                }
                break;
        }
        foreach ((int start, int end) in merged)
        {
            if (end > start) output.Add(new HfPiece(text[start..end], piece.AtStart && start == 0));
        }
    }

    private sealed class Chain(IHfPreTokenizer[] steps) : IHfPreTokenizer
    {
        public void Split(HfPiece piece, List<HfPiece> output)
        {
            var current = new List<HfPiece> { piece };
            var next = new List<HfPiece>();
            foreach (IHfPreTokenizer step in steps)
            {
                next.Clear();
                foreach (HfPiece p in current) step.Split(p, next);
                (current, next) = (next, current);
            }
            output.AddRange(current);
        }
    }

    /// <summary>Optional prefix space, GPT-2 regex split, then every byte becomes its mapped character.</summary>
    private sealed class ByteLevel(bool addPrefixSpace, bool useRegex) : IHfPreTokenizer
    {
        private static readonly System.Text.RegularExpressions.Regex Gpt2 =
            new(Gpt2Pattern, System.Text.RegularExpressions.RegexOptions.Compiled | System.Text.RegularExpressions.RegexOptions.CultureInvariant);

        public void Split(HfPiece piece, List<HfPiece> output)
        {
            string text = addPrefixSpace && !piece.Text.StartsWith(' ') ? " " + piece.Text : piece.Text;
            if (!useRegex)
            {
                output.Add(piece with { Text = ByteLevelAlphabet.Encode(text) });
                return;
            }
            foreach (System.Text.RegularExpressions.ValueMatch m in Gpt2.EnumerateMatches(text))
            {
                output.Add(new HfPiece(ByteLevelAlphabet.Encode(text.AsSpan(m.Index, m.Length)), piece.AtStart && m.Index == 0));
            }
        }
    }

    private sealed class Metaspace(HfMetaspace meta, bool split) : IHfPreTokenizer
    {
        public void Split(HfPiece piece, List<HfPiece> output)
        {
            string text = meta.Encode(piece.Text, piece.AtStart);
            if (!split)
            {
                output.Add(piece with { Text = text });
                return;
            }
            var matches = new List<(int, int)>();
            for (int i = 0; i < text.Length; i++)
            {
                if (text[i] == meta.Replacement) matches.Add((i, 1));
            }
            SplitAt(piece with { Text = text }, matches, SplitBehavior.MergedWithNext, invert: false, output);
        }
    }

    private sealed class RegexSplit(HfPattern pattern, SplitBehavior behavior, bool invert) : IHfPreTokenizer
    {
        public void Split(HfPiece piece, List<HfPiece> output) => SplitAt(piece, pattern.Matches(piece.Text), behavior, invert, output);
    }

    /// <summary>Whitespace is removed, each punctuation character isolated (BERT's rules, ASCII symbols count as punctuation).</summary>
    private sealed class BertSplit : IHfPreTokenizer
    {
        public void Split(HfPiece piece, List<HfPiece> output)
        {
            var matches = new List<(int, int)>();
            string text = piece.Text;
            for (int i = 0; i < text.Length;)
            {
                Rune.DecodeFromUtf16(text.AsSpan(i), out Rune rune, out int length);
                if (Rune.IsWhiteSpace(rune) || BertTextNormalizer.IsPunctuation(rune)) matches.Add((i, length));
                i += length;
            }
            var first = new List<HfPiece>();
            SplitAt(piece, matches, SplitBehavior.Isolated, invert: false, first);
            foreach (HfPiece p in first)
            {
                if (!Rune.IsWhiteSpace(Rune.GetRuneAt(p.Text, 0))) output.Add(p);
            }
        }
    }
}

/// <summary>The tokenizers library's <c>SplitDelimiterBehavior</c>.</summary>
internal enum SplitBehavior
{
    Removed,
    Isolated,
    MergedWithPrevious,
    MergedWithNext,
    Contiguous,
}

/// <summary>The settings shared by the <c>Metaspace</c> pre-tokenizer and decoder.</summary>
internal sealed class HfMetaspace(char replacement, string prependScheme)
{
    internal char Replacement { get; } = replacement;

    internal string PrependScheme { get; } = prependScheme;

    internal static HfMetaspace Read(JsonFieldReader json, JsonElement e, string path)
    {
        string replacement = json.OptionalString(e, path, "replacement") ?? "\u2581";
        if (replacement.Length != 1) throw json.Error(path + ".replacement", "expected one character.");
        // Older files carry add_prefix_space instead of prepend_scheme.
        string scheme = json.OptionalString(e, path, "prepend_scheme")
            ?? (json.OptionalBool(e, path, "add_prefix_space", true) ? "always" : "never");
        if (scheme is not ("always" or "first" or "never")) throw json.Error(path + ".prepend_scheme", $"unknown value '{scheme}'.");
        return new HfMetaspace(replacement[0], scheme);
    }

    internal string Encode(string text, bool atStart)
    {
        string replaced = text.Replace(' ', Replacement);
        bool prepend = PrependScheme == "always" || (PrependScheme == "first" && atStart);
        return prepend && !replaced.StartsWith(Replacement) ? Replacement + replaced : replaced;
    }
}

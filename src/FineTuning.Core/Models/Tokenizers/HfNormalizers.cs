using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Text.Json;
using FineTuning.Json;
using System.Text.RegularExpressions;
using FineTuning.Models.Bert;

namespace FineTuning.Models.Tokenizers;

/// <summary>One step of a tokenizer.json <c>normalizer</c>.</summary>
internal interface IHfNormalizer
{
    string Normalize(string text);
}

/// <summary>
/// Builds the normalizers of the tokenizers library
/// (https://huggingface.co/docs/tokenizers/api/normalizers) from their JSON form.
/// </summary>
internal static class HfNormalizers
{
    internal static IHfNormalizer? Read(JsonFieldReader json, JsonElement? element, string path)
    {
        if (element is not { } e) return null;
        string type = json.RequiredString(e, path, "type");
        switch (type)
        {
            case "Sequence":
                return new Chain(json.Array(json.Required(e, path, "normalizers"), path + ".normalizers")
                    .Select(n => Read(json, n.Item, n.Path)!).ToArray());
            case "NFC": return new Unicode(NormalizationForm.FormC);
            case "NFD": return new Unicode(NormalizationForm.FormD);
            case "NFKC": return new Unicode(NormalizationForm.FormKC);
            case "NFKD": return new Unicode(NormalizationForm.FormKD);
            case "Lowercase": return new Lowercase();
            case "Prepend": return new Prepend(json.RequiredString(e, path, "prepend"));
            case "Replace":
                return new Replace(HfPattern.Read(json, json.Required(e, path, "pattern"), path + ".pattern"), json.RequiredString(e, path, "content"));
            case "Strip":
                return new Strip(json.OptionalBool(e, path, "strip_left", true), json.OptionalBool(e, path, "strip_right", true));
            case "BertNormalizer":
                bool lower = json.OptionalBool(e, path, "lowercase", true);
                bool strip = json.OptionalBool(e, path, "strip_accents", lower);
                if (strip != lower) throw json.Error(path + ".strip_accents", "strip_accents different from lowercase is not supported.");
                if (!json.OptionalBool(e, path, "clean_text", true) || !json.OptionalBool(e, path, "handle_chinese_chars", true))
                {
                    throw json.Error(path, "BertNormalizer without clean_text or handle_chinese_chars is not supported.");
                }
                return new Bert(lower);
            default:
                throw json.Error(path + ".type", $"normalizer '{type}' is not supported.");
        }
    }

    private sealed class Chain(IHfNormalizer[] steps) : IHfNormalizer
    {
        public string Normalize(string text)
        {
            foreach (IHfNormalizer step in steps) text = step.Normalize(text);
            return text;
        }
    }

    // string.Normalize is a no-op under InvariantGlobalization; for ASCII and already-composed text (nearly all
    // input) NFC changes nothing anyway. Documented as a limitation in docs/models.md.
    private sealed class Unicode(NormalizationForm form) : IHfNormalizer
    {
        public string Normalize(string text) => text.IsNormalized(form) ? text : text.Normalize(form);
    }

    private sealed class Lowercase : IHfNormalizer
    {
        public string Normalize(string text) => text.ToLowerInvariant();
    }

    private sealed class Prepend(string prefix) : IHfNormalizer
    {
        // HF prepends only to non-empty text.
        public string Normalize(string text) => text.Length == 0 ? text : prefix + text;
    }

    private sealed class Replace(HfPattern pattern, string content) : IHfNormalizer
    {
        public string Normalize(string text) => pattern.Replace(text, content);
    }

    private sealed class Strip(bool left, bool right) : IHfNormalizer
    {
        public string Normalize(string text) => left && right ? text.Trim() : left ? text.TrimStart() : right ? text.TrimEnd() : text;
    }

    private sealed class Bert(bool lowerCase) : IHfNormalizer
    {
        public string Normalize(string text) => BertTextNormalizer.Normalize(text, lowerCase);
    }
}

/// <summary>
/// A tokenizer.json pattern: <c>{"String": "..."}</c> (literal) or <c>{"Regex": "..."}</c>. A regex runs with a match
/// time limit (<see cref="MatchTimeout"/>): a pattern that backtracks exponentially (<c>(a+)+$</c>) fails with a
/// <see cref="ModelFileException"/> naming the file, the field and the pattern instead of hanging the caller.
/// </summary>
internal sealed class HfPattern
{
    /// <summary>Longest time one regex match may take; real tokenizer patterns need microseconds per piece.</summary>
    internal static readonly TimeSpan MatchTimeout = TimeSpan.FromSeconds(1);

    private readonly string? literal;
    private readonly Regex? regex;
    private readonly Func<Exception>? timedOut;

    private HfPattern(string? literal, Regex? regex, Func<Exception>? timedOut)
    {
        this.literal = literal;
        this.regex = regex;
        this.timedOut = timedOut;
    }

    internal static HfPattern Read(JsonFieldReader json, JsonElement element, string path)
    {
        json.RequireObject(element, path);
        if (JsonFieldReader.Optional(element, "String") is { } s) return new HfPattern(json.AsString(s, path + ".String"), null, null);
        if (JsonFieldReader.Optional(element, "Regex") is { } r)
        {
            string pattern = json.AsString(r, path + ".Regex");
            try
            {
                // HF uses Oniguruma; the patterns real tokenizers ship (GPT-2, LLaMA-3, Qwen2) mean the same in .NET.
                var regex = new Regex(pattern, RegexOptions.CultureInvariant | RegexOptions.Compiled, MatchTimeout);
                string shown = pattern.Length <= 80 ? pattern : string.Concat(pattern.AsSpan(0, 80), "...");
                return new HfPattern(null, regex, () => json.Error(path + ".Regex",
                    $"the regular expression '{shown}' took longer than {MatchTimeout.TotalSeconds} s on one input (it backtracks without bound)"));
            }
            catch (ArgumentException e)
            {
                throw json.Error(path + ".Regex", $"invalid regular expression ({e.Message})");
            }
        }
        throw json.Error(path, "expected {\"String\": ...} or {\"Regex\": ...}.");
    }

    /// <summary>The (start, length) of each non-overlapping match, left to right.</summary>
    internal IEnumerable<(int Start, int Length)> Matches(string text)
    {
        if (regex is not null) return RegexMatches(text);
        return LiteralMatches(text);
    }

    private List<(int Start, int Length)> RegexMatches(string text)
    {
        var result = new List<(int, int)>();
        try
        {
            for (Match m = regex!.Match(text); m.Success; m = m.NextMatch())
            {
                if (m.Length > 0) result.Add((m.Index, m.Length));
            }
        }
        catch (RegexMatchTimeoutException)
        {
            throw timedOut!();
        }
        return result;
    }

    private IEnumerable<(int Start, int Length)> LiteralMatches(string text)
    {
        if (literal!.Length == 0) yield break;
        int at = 0;
        while ((at = text.IndexOf(literal, at, StringComparison.Ordinal)) >= 0)
        {
            yield return (at, literal.Length);
            at += literal.Length;
        }
    }

    internal string Replace(string text, string content)
    {
        if (regex is null) return literal!.Length == 0 ? text : text.Replace(literal, content, StringComparison.Ordinal);
        try
        {
            return regex.Replace(text, content.Replace("$", "$$", StringComparison.Ordinal));
        }
        catch (RegexMatchTimeoutException)
        {
            throw timedOut!();
        }
    }
}

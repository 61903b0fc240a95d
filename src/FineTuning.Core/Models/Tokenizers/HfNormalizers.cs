using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Text.Json;
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
    internal static IHfNormalizer? Read(HfJson json, JsonElement? element, string path)
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

/// <summary>A tokenizer.json pattern: <c>{"String": "..."}</c> (literal) or <c>{"Regex": "..."}</c>.</summary>
internal sealed class HfPattern
{
    private readonly string? literal;
    private readonly Regex? regex;

    private HfPattern(string? literal, Regex? regex)
    {
        this.literal = literal;
        this.regex = regex;
    }

    internal static HfPattern Read(HfJson json, JsonElement element, string path)
    {
        if (JsonHasString(element, "String", out string? s)) return new HfPattern(s, null);
        if (JsonHasString(element, "Regex", out string? r))
        {
            try
            {
                // HF uses Oniguruma; the patterns real tokenizers ship (GPT-2, LLaMA-3, Qwen2) mean the same in .NET.
                return new HfPattern(null, new Regex(r!, RegexOptions.CultureInvariant | RegexOptions.Compiled));
            }
            catch (ArgumentException e)
            {
                throw new ModelFileException(json.FileName, $"field '{path}.Regex': invalid regular expression ({e.Message}).", e);
            }
        }
        throw json.Error(path, "expected {\"String\": ...} or {\"Regex\": ...}.");
    }

    /// <summary>The (start, length) of each non-overlapping match, left to right.</summary>
    internal IEnumerable<(int Start, int Length)> Matches(string text)
    {
        if (regex is not null)
        {
            for (Match m = regex.Match(text); m.Success; m = m.NextMatch())
            {
                if (m.Length > 0) yield return (m.Index, m.Length);
            }
            yield break;
        }
        if (literal!.Length == 0) yield break;
        int at = 0;
        while ((at = text.IndexOf(literal, at, StringComparison.Ordinal)) >= 0)
        {
            yield return (at, literal.Length);
            at += literal.Length;
        }
    }

    internal string Replace(string text, string content) =>
        regex is not null ? regex.Replace(text, content.Replace("$", "$$", StringComparison.Ordinal))
            : literal!.Length == 0 ? text : text.Replace(literal, content, StringComparison.Ordinal);

    private static bool JsonHasString(JsonElement element, string name, out string? value)
    {
        value = null;
        if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty(name, out JsonElement v) || v.ValueKind != JsonValueKind.String) return false;
        value = v.GetString();
        return true;
    }
}

using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;

namespace FineTuning.Models.Bert;

/// <summary>
/// BERT's "basic tokenizer" (HF <c>BasicTokenizer</c>): drops control characters, maps whitespace to spaces,
/// isolates CJK ideographs, lower-cases and strips accents, splits on whitespace and punctuation.
/// Accent stripping uses a precomputed NFD table (strip-accents.txt) instead of <see cref="string.Normalize()"/>,
/// because normalization is a no-op under <c>InvariantGlobalization</c>, which would silently change token ids.
/// </summary>
internal static class BertTextNormalizer
{
    private static readonly Lazy<Dictionary<int, string>> StripTable = new(LoadStripTable);

    /// <summary>Splits <paramref name="text"/> into basic tokens (words and single punctuation marks).</summary>
    internal static List<string> Split(string text, bool lowerCase)
    {
        var words = new List<string>();
        var current = new StringBuilder();
        void Flush()
        {
            if (current.Length > 0) words.Add(current.ToString());
            current.Clear();
        }
        foreach (Rune rune in text.EnumerateRunes())
        {
            int cp = rune.Value;
            if (cp == 0 || cp == 0xFFFD || IsControl(rune)) continue;
            if (IsWhitespace(rune) || IsCjk(cp))
            {
                Flush();
                if (IsCjk(cp)) words.Add(rune.ToString());
                continue;
            }
            if (!lowerCase)
            {
                AppendOrSplit(rune, current, Flush, words);
                continue;
            }
            foreach (Rune r in Fold(rune)) AppendOrSplit(r, current, Flush, words);
        }
        Flush();
        return words;
    }

    /// <summary>
    /// HF <c>BertNormalizer</c> alone (no splitting): drops control characters, maps whitespace to spaces, pads CJK
    /// ideographs with spaces and, when <paramref name="lowerCase"/>, lower-cases and strips accents.
    /// </summary>
    internal static string Normalize(string text, bool lowerCase)
    {
        var sb = new StringBuilder(text.Length);
        foreach (Rune rune in text.EnumerateRunes())
        {
            int cp = rune.Value;
            if (cp == 0 || cp == 0xFFFD || IsControl(rune)) continue;
            if (IsWhitespace(rune)) sb.Append(' ');
            else if (IsCjk(cp)) sb.Append(' ').Append(rune.ToString()).Append(' ');
            else if (!lowerCase) sb.Append(rune.ToString());
            else foreach (Rune r in Fold(rune)) sb.Append(r.ToString());
        }
        return sb.ToString();
    }

    private static void AppendOrSplit(Rune rune, StringBuilder current, Action flush, List<string> words)
    {
        if (IsPunctuation(rune))
        {
            flush();
            words.Add(rune.ToString());
        }
        else
        {
            current.Append(rune.ToString());
        }
    }

    /// <summary>Lower-case, NFD, drop nonspacing marks; lower-case again for the few capitals a decomposition exposes (U+0130).</summary>
    private static IEnumerable<Rune> Fold(Rune rune)
    {
        Rune lower = Rune.ToLowerInvariant(rune);
        int cp = lower.Value;
        if (cp is >= 0xAC00 and <= 0xD7A3)
        {
            // Hangul syllables decompose algorithmically (Unicode 15, section 3.12) into conjoining jamo.
            int s = cp - 0xAC00;
            yield return new Rune(0x1100 + (s / 588));
            yield return new Rune(0x1161 + (s % 588 / 28));
            if (s % 28 != 0) yield return new Rune(0x11A7 + (s % 28));
            yield break;
        }
        if (StripTable.Value.TryGetValue(cp, out string? stripped))
        {
            foreach (Rune r in stripped.EnumerateRunes()) yield return Rune.ToLowerInvariant(r);
            yield break;
        }
        if (Rune.GetUnicodeCategory(lower) != UnicodeCategory.NonSpacingMark) yield return lower;
    }

    private static bool IsWhitespace(Rune rune) =>
        rune.Value is ' ' or '\t' or '\n' or '\r' || Rune.GetUnicodeCategory(rune) == UnicodeCategory.SpaceSeparator;

    private static bool IsControl(Rune rune)
    {
        if (rune.Value is '\t' or '\n' or '\r') return false;
        return Rune.GetUnicodeCategory(rune) is UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate
            or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned;
    }

    /// <summary>HF counts all non-alphanumeric ASCII (e.g. $, ^, `) as punctuation, plus Unicode P* categories.</summary>
    internal static bool IsPunctuation(Rune rune)
    {
        int cp = rune.Value;
        if (cp is (>= 33 and <= 47) or (>= 58 and <= 64) or (>= 91 and <= 96) or (>= 123 and <= 126)) return true;
        return Rune.GetUnicodeCategory(rune) is UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation
            or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation
            or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation;
    }

    /// <summary>The CJK Unified Ideographs blocks HF isolates (not Hiragana, Katakana or Hangul).</summary>
    private static bool IsCjk(int cp) =>
        cp is (>= 0x4E00 and <= 0x9FFF) or (>= 0x3400 and <= 0x4DBF) or (>= 0x20000 and <= 0x2A6DF) or (>= 0x2A700 and <= 0x2B73F)
            or (>= 0x2B740 and <= 0x2B81F) or (>= 0x2B820 and <= 0x2CEAF) or (>= 0xF900 and <= 0xFAFF) or (>= 0x2F800 and <= 0x2FA1F);

    private static Dictionary<int, string> LoadStripTable()
    {
        const string name = "FineTuning.Models.Bert.strip-accents.txt";
        using Stream stream = typeof(BertTextNormalizer).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"Embedded resource '{name}' is missing from FineTuning.Core.");
        using var reader = new StreamReader(stream, Encoding.ASCII);
        var table = new Dictionary<int, string>();
        while (reader.ReadLine() is { } line)
        {
            if (line.Length == 0 || line[0] == '#') continue;
            string[] parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var sb = new StringBuilder();
            for (int i = 1; i < parts.Length; i++) sb.Append(char.ConvertFromUtf32(int.Parse(parts[i], NumberStyles.HexNumber, CultureInfo.InvariantCulture)));
            table[int.Parse(parts[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture)] = sb.ToString();
        }
        return table;
    }
}

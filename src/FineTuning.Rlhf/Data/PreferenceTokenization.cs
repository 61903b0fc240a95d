using System;
using System.Collections.Generic;
using System.Linq;
using FineTuning.Models.Tokenizers;

namespace FineTuning.Rlhf.Data;

/// <summary>Turns text preferences into token pairs.</summary>
public static class PreferenceTokenization
{
    /// <summary>
    /// Tokenizes a preference. Each completion is tokenized in context (prompt + completion encoded together, then cut
    /// after the prompt's tokens), so merges across the boundary are what the model will see; when the tokenizer merges
    /// across the boundary, the pair cannot be cut cleanly and a <see cref="PreferenceDataException"/> says so.
    /// </summary>
    public static PreferencePair ToPair(ITokenizer tokenizer, string prompt, string chosen, string rejected, bool addEos = true)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(prompt);
        long[] promptIds = tokenizer.Encode(prompt, addBos: true).Select(i => (long)i).ToArray();
        long[] Completion(string text, string side)
        {
            List<long> all = tokenizer.Encode(prompt + text, addBos: true).Select(i => (long)i).ToList();
            if (addEos) all.Add(tokenizer.EosId);
            if (all.Count <= promptIds.Length || !all.Take(promptIds.Length).SequenceEqual(promptIds))
                throw new PreferenceDataException($"The {side} completion merges with the end of the prompt when tokenized (\"{Tail(prompt)}|{Head(text)}\"); end the prompt at a word boundary or start the completion with a space.");
            return all.Skip(promptIds.Length).ToArray();
        }
        return new PreferencePair(promptIds, Completion(chosen, "chosen"), Completion(rejected, "rejected"));
    }

    /// <summary>Tokenizes many preferences; see <see cref="ToPair"/>.</summary>
    public static List<PreferencePair> ToPairs(ITokenizer tokenizer, IEnumerable<TextPreference> preferences, bool addEos = true)
    {
        ArgumentNullException.ThrowIfNull(preferences);
        return preferences.Select(p => ToPair(tokenizer, p.Prompt, p.Chosen, p.Rejected, addEos)).ToList();
    }

    private static string Tail(string s) => s.Length <= 15 ? s : "..." + s[^15..];

    private static string Head(string s) => s.Length <= 15 ? s : s[..15] + "...";
}

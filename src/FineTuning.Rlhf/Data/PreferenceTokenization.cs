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
        long[] promptIds = PromptIds(tokenizer, prompt);
        return new PreferencePair(promptIds, Completion(tokenizer, prompt, promptIds, chosen, "chosen", addEos), Completion(tokenizer, prompt, promptIds, rejected, "rejected", addEos));
    }

    /// <summary>Tokenizes an unpaired KTO example the same way (completion in context, EOS added).</summary>
    public static KtoExample ToKtoExample(ITokenizer tokenizer, TextKtoExample example, bool addEos = true)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(example);
        long[] promptIds = PromptIds(tokenizer, example.Prompt);
        return new KtoExample(promptIds, Completion(tokenizer, example.Prompt, promptIds, example.Completion, "", addEos), example.Desirable);
    }

    private static long[] PromptIds(ITokenizer tokenizer, string prompt) => tokenizer.Encode(prompt, addBos: true).Select(i => (long)i).ToArray();

    private static long[] Completion(ITokenizer tokenizer, string prompt, long[] promptIds, string text, string side, bool addEos)
    {
        List<long> all = tokenizer.Encode(prompt + text, addBos: true).Select(i => (long)i).ToList();
        if (addEos) all.Add(tokenizer.EosId);
        if (all.Count <= promptIds.Length || !all.Take(promptIds.Length).SequenceEqual(promptIds))
            throw new PreferenceDataException($"The {side}{(side.Length > 0 ? " " : "")}completion merges with the end of the prompt when tokenized (\"{Tail(prompt)}|{Head(text)}\"); end the prompt at a word boundary or start the completion with a space.");
        return all.Skip(promptIds.Length).ToArray();
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

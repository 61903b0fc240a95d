using System;
using System.Collections.Generic;
using System.Linq;


namespace FineTuning.Rlhf.Data;

/// <summary>Checks text preferences before training: identical sides, empty sides, duplicates, lengths.</summary>
public static class PreferenceValidator
{
    /// <summary>Validates <paramref name="preferences"/>; <paramref name="countTokens"/> measures a text, <paramref name="contextLength"/> is the model's.</summary>
    public static PreferenceValidationReport Validate(IReadOnlyList<TextPreference> preferences, Func<string, int> countTokens, int contextLength)
    {
        ArgumentNullException.ThrowIfNull(preferences);
        ArgumentNullException.ThrowIfNull(countTokens);
        var identical = new List<int>();
        var emptySide = new List<int>();
        var tooLong = new List<int>();
        var duplicates = new List<int>();
        var seen = new HashSet<(string, string, string)>();
        var lengths = new List<int>();
        for (int i = 0; i < preferences.Count; i++)
        {
            TextPreference p = preferences[i];
            if (string.IsNullOrWhiteSpace(p.Chosen) || string.IsNullOrWhiteSpace(p.Rejected)) emptySide.Add(i);
            if (p.Chosen == p.Rejected) identical.Add(i);
            if (!seen.Add((p.Prompt, p.Chosen, p.Rejected))) duplicates.Add(i);
            int length = countTokens(p.Prompt) + Math.Max(countTokens(p.Chosen), countTokens(p.Rejected));
            lengths.Add(length);
            if (length > contextLength) tooLong.Add(i);
        }
        int[] sorted = lengths.OrderBy(x => x).ToArray();
        return new PreferenceValidationReport(preferences.Count, identical, emptySide, duplicates, tooLong,
            sorted.Length == 0 ? 0 : sorted[0], sorted.Length == 0 ? 0 : sorted[sorted.Length / 2], sorted.Length == 0 ? 0 : sorted[^1], contextLength);
    }
}

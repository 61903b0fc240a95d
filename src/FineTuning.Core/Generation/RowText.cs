using System;
using System.Collections.Generic;
using System.Linq;
using FineTuning.Models.Tokenizers;

namespace FineTuning.Generation;

/// <summary>
/// The text of one row's generated tokens, released piece by piece: text is decoded together with the
/// prompt (so tokenizers that strip a leading space after BOS, or merge bytes across tokens, behave as on
/// the whole sequence), a character still incomplete (U+FFFD at the end) or a possible start of a stop
/// string is held back, and the text ends before the first stop string.
/// </summary>
internal sealed class RowText
{
    private readonly ITokenizer tokenizer;
    private readonly IReadOnlyList<int> prompt;
    private readonly string promptText;
    private readonly IReadOnlyList<string> stopStrings;
    private int released;

    internal RowText(ITokenizer tokenizer, IReadOnlyList<int> prompt, IReadOnlyList<string> stopStrings)
    {
        this.tokenizer = tokenizer;
        this.prompt = prompt;
        this.stopStrings = stopStrings;
        promptText = tokenizer.Decode(prompt);
        Text = string.Empty;
    }

    /// <summary>The text so far, cut before a stop string once one appeared.</summary>
    internal string Text { get; private set; }

    /// <summary>A stop string appeared; the row must stop.</summary>
    internal bool StopStringSeen { get; private set; }

    /// <summary>Updates the text for <paramref name="generated"/> and returns the newly releasable piece (maybe empty).</summary>
    internal string Update(IReadOnlyList<int> generated, bool final)
    {
        if (StopStringSeen) return string.Empty;
        string full = tokenizer.Decode(prompt.Concat(generated));
        string text = full.StartsWith(promptText, StringComparison.Ordinal) ? full[promptText.Length..] : tokenizer.Decode(generated);
        int stopAt = -1;
        foreach (string stop in stopStrings)
        {
            int at = text.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && (stopAt < 0 || at < stopAt)) stopAt = at;
        }

        int safe;
        if (stopAt >= 0)
        {
            StopStringSeen = true;
            text = text[..stopAt];
            safe = text.Length;
        }
        else if (final)
        {
            safe = text.Length;
        }
        else
        {
            safe = text.Length - HeldBack(text);
        }

        Text = text;
        if (safe <= released) return string.Empty;
        string piece = text[released..safe];
        released = safe;
        return piece;
    }

    private int HeldBack(string text)
    {
        int hold = 0;
        while (hold < text.Length && text[text.Length - 1 - hold] == '\uFFFD') hold++;
        foreach (string stop in stopStrings)
        {
            for (int n = Math.Min(stop.Length - 1, text.Length); n > hold; n--)
            {
                if (text.AsSpan(text.Length - n).SequenceEqual(stop.AsSpan(0, n)))
                {
                    hold = n;
                    break;
                }
            }
        }

        return hold;
    }
}

using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;
using FineTuning.Rlhf.Rewards;

namespace FineTuning.Examples.Grpo;

/// <summary>
/// A verifiable task for a tiny story model: the prompt names an object, and the continuation should mention it again
/// (a whole-word match), without rambling (a length penalty). Training and held-out prompts use different words.
/// </summary>
internal static partial class WordTask
{
    private static readonly string[] TrainWords =
    {
        "ball", "cat", "tree", "cake", "car", "bird", "hat", "box", "boat", "flower", "fish", "toy", "apple", "book", "kite", "sun",
    };

    private static readonly string[] HeldOutWords = { "dog", "doll", "shoe", "bear", "cup", "bike", "frog", "star" };

    private static readonly string[] Templates =
    {
        "Once upon a time, there was a little girl who had a {0}.",
        "In the park, Tom found a big {0}.",
        "Lily wanted a new {0}.",
        "One day, a boy saw a red {0}.",
    };

    /// <summary>Maximum characters before the length penalty starts.</summary>
    public const int FreeCharacters = 80;

    public static string[] Prompts(bool heldOut, int seed)
    {
        var random = new Random(seed);
        string[] words = heldOut ? HeldOutWords : TrainWords;
        string[] all = words.SelectMany(w => Templates.Select(t => string.Format(System.Globalization.CultureInfo.InvariantCulture, t, w))).ToArray();
        random.Shuffle(all);
        return all;
    }

    /// <summary>The object the prompt names: every template ends with it and a full stop.</summary>
    public static string WordOf(string prompt) => LastWord().Match(prompt).Groups[1].Value;

    /// <summary>1 when the completion mentions the prompt's object as a whole word (singular or plural), else 0.</summary>
    public static bool Mentions(string prompt, string completion) =>
        Regex.IsMatch(completion, $@"\b{Regex.Escape(WordOf(prompt))}s?\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);

    public static IRewardFunction MentionReward { get; } = RewardFunction.Create("mentions_word", (p, c) => Mentions(p, c) ? 1 : 0);

    /// <summary>Minus the characters beyond <see cref="FreeCharacters"/>, per 100 characters.</summary>
    public static IRewardFunction LengthPenalty { get; } = RewardFunction.Create("length_penalty", (_, c) => -Math.Max(0, c.Length - FreeCharacters) / 100.0);

    /// <summary>Plain TinyStories-like text for the forgetting check (perplexity before and after).</summary>
    public static readonly IReadOnlyList<string> PlainText = new[]
    {
        "Once upon a time, there was a little boy named Tim. He liked to play outside with his friends.",
        "One day, Lily went to the park with her mom. She saw a big slide and ran to it.",
        "The sun was shining and the birds were singing. Sam was happy and smiled at his sister.",
        "Mom said, \"Let's go home now.\" The girl said, \"Okay, mom!\" They walked home together.",
        "Ben had a small red ball. He threw it high in the sky and his dog ran after it.",
        "Sue was sad because she lost her toy. Her friend helped her look for it, and they found it under the bed.",
    };

    [GeneratedRegex(@"(\w+)\.\s*$", RegexOptions.CultureInvariant)]
    private static partial Regex LastWord();
}

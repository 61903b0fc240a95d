using System;
using System.Collections.Generic;
using System.Linq;

namespace FineTuning.Examples.PreferenceTuning;

/// <summary>
/// Preference pairs in TinyStories style that encode a visible preference: when a character meets someone in
/// trouble, the chosen continuation helps, the rejected one walks away. Built from templates; held-out prompts use
/// names and creatures the training pairs never contain.
/// </summary>
internal static class KindnessData
{
    private static readonly string[] TrainNames = { "Lily", "Tom", "Sam", "Mia", "Ben", "Anna", "Max", "Lucy", "Tim", "Sue" };
    private static readonly string[] HeldOutNames = { "Jack", "Emma", "Bob", "Zoe" };
    private static readonly string[] TrainCreatures = { "bird", "cat", "dog", "frog", "bunny", "duck" };
    private static readonly string[] HeldOutCreatures = { "puppy", "kitten", "fish" };
    private static readonly string[] Troubles = { "was hurt", "was sad", "was lost", "was stuck in a tree", "was cold" };

    private static readonly string[] Kind =
    {
        " helped the {0}. The {0} was happy and they became friends.",
        " helped the {0} and gave it a hug. The {0} smiled.",
        " was kind and helped the {0}. They played together all day.",
    };

    private static readonly string[] Unkind =
    {
        " laughed at the {0} and walked away. The {0} cried.",
        " did not care about the {0} and ran away to play.",
        " was mean to the {0} and went home. The {0} was alone.",
    };

    public static string Prompt(string name, string creature, string trouble) =>
        $"Once upon a time, there was a little kid named {name}. One day, {name} saw a {creature} that {trouble}. {name}";

    public static IEnumerable<(string Prompt, string Chosen, string Rejected)> Pairs(bool heldOut, int seed)
    {
        var random = new Random(seed);
        string[] names = heldOut ? HeldOutNames : TrainNames, creatures = heldOut ? HeldOutCreatures : TrainCreatures;
        foreach (string name in names)
            foreach (string creature in creatures)
                foreach (string trouble in Troubles)
                    yield return (Prompt(name, creature, trouble),
                        string.Format(System.Globalization.CultureInfo.InvariantCulture, Kind[random.Next(Kind.Length)], creature),
                        string.Format(System.Globalization.CultureInfo.InvariantCulture, Unkind[random.Next(Unkind.Length)], creature));
    }

    /// <summary>Held-out plain text for the forgetting check (written for this example, TinyStories style).</summary>
    public static readonly string[] PlainText =
    {
        "Once upon a time, there was a little boy named Tim. He liked to play with his red ball in the park.",
        "One day, the sun was hot. Lily went to the pond with her mom. They saw a big fish in the water.",
        "The dog was happy. He ran and jumped in the grass. Then he went home and took a long nap.",
        "Sam had a toy car. He gave it to his friend Ben. Ben said thank you and they played all day.",
        "It was a cold night. Mia put on her warm hat. She looked at the stars and made a wish.",
    };

    /// <summary>True when a generated continuation shows the preferred trait.</summary>
    public static bool IsKind(string text) =>
        new[] { "help", "hug", "kind", "friend" }.Any(w => text.Contains(w, StringComparison.OrdinalIgnoreCase));
}

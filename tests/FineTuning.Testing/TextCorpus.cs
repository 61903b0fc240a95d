using System;
using System.Collections.Generic;
using System.Text;

namespace FineTuning.Testing;

/// <summary>Seeded test texts for tokenizer parity: TinyStories-like words mixed with unicode and random code points.</summary>
public static class TextCorpus
{
    private static readonly string[] Pool = { "the", " the", "a", " ", "  ", "\n", "Lily", " was", "é", "中", "😀", ".", ",", "\"", "'s", "ing", "ed", "~", "{}" };

    /// <summary>A few fixed sentences, then <paramref name="count"/> random strings drawn with <paramref name="seed"/>.</summary>
    public static IEnumerable<string> Mixed(int seed, int count)
    {
        yield return "Once upon a time, there was a little girl named Lily.";
        yield return "Lily's mom said, \"Lily, let's go to the park.\"\nThe end.";
        yield return "café naïve — “quotes” 中文 😀 👩‍💻";
        yield return "  two spaces, a tab\tand 1234567890";
        var random = new Random(seed);
        for (int i = 0; i < count; i++)
        {
            var text = new StringBuilder();
            int parts = random.Next(1, 25);
            for (int p = 0; p < parts; p++)
            {
                text.Append(random.Next(4) == 0
                    ? char.ConvertFromUtf32(random.Next(2) == 0 ? random.Next(0x20, 0x7F) : random.Next(0xA0, 0xD7FF))
                    : Pool[random.Next(Pool.Length)]);
            }

            yield return text.ToString();
        }
    }
}

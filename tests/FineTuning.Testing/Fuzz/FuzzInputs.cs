using System;
using System.IO;
using System.Text;
using FineTuning.Testing;

namespace FineTuning.Testing.Fuzz;

/// <summary>Input makers for <see cref="FuzzRunner.Run"/>, and a temporary folder to put mutated files in.</summary>
public static class FuzzInputs
{
    /// <summary>JSON structure mutations of <paramref name="seedJson"/>.</summary>
    /// <param name="seedJson">A valid JSON text (a real file's content).</param>
    /// <returns>The input maker.</returns>
    public static Func<Random, (byte[] Input, string What)> Json(string seedJson) => random => (JsonMutator.Mutate(seedJson, random, out string what), what);

    /// <summary>Byte mutations of <paramref name="seed"/>, half of them in the first <paramref name="focus"/> bytes when positive.</summary>
    /// <param name="seed">A real file's bytes.</param>
    /// <param name="focus">Header length to aim at (0: anywhere).</param>
    /// <returns>The input maker.</returns>
    public static Func<Random, (byte[] Input, string What)> Bytes(byte[] seed, int focus = 0) => random => (ByteMutator.Mutate(seed, random, out string what, focus), what);

    /// <summary>One line of a JSON Lines text mutated as JSON (records stay on their lines).</summary>
    /// <param name="seedJsonl">Valid JSON Lines.</param>
    /// <returns>The input maker.</returns>
    public static Func<Random, (byte[] Input, string What)> JsonLines(string seedJsonl) => random =>
    {
        string[] lines = seedJsonl.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        int at = random.Next(lines.Length);
        string mutated = Encoding.UTF8.GetString(JsonMutator.Mutate(lines[at], random, out string what)).Replace("\n", " ", StringComparison.Ordinal);
        lines[at] = mutated;
        return (Encoding.UTF8.GetBytes(string.Join('\n', lines) + "\n"), $"line {at + 1}: {what}");
    };

    /// <summary>Creates an empty temporary folder, deleted on dispose.</summary>
    /// <returns>The folder.</returns>
    public static TempDirectory Folder() => new("fuzz-");
}

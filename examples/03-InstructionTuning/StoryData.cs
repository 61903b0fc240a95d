using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using FineTuning.Data;
using FineTuning.Generation;
using FineTuning.Models.Llama;
using FineTuning.Models.Tokenizers;

namespace FineTuning.Examples.InstructionTuning;

/// <summary>
/// Builds the example's data with the pretrained model itself, so the task is only the new format, not new
/// language: each story is the model's own sampled continuation of a seeded opening, and the answer to learn is
/// "Title: {Name} and the {thing}\n" followed by that story. Run with --build-data to rewrite data/*.jsonl.
/// </summary>
internal static class StoryData
{
    internal static readonly string[] Names =
    {
        "Lily", "Tom", "Sue", "Ben", "Mia", "Max", "Anna", "Sam", "Lucy", "Tim", "Zoe", "Jack", "Emma", "Leo", "Amy",
        "Bob", "Kate", "Joe", "Mary", "Dan", "Ella", "Finn", "Rose", "Jake", "Nina",
    };

    internal static readonly string[] Things = { "ball", "dog", "cat", "kite", "tree", "boat", "cake", "bird", "toy", "car" };

    internal static string Request(string name, string thing) => $"Write a story about {name} and a {thing}.";

    internal static string Title(string name, string thing) => $"Title: {name} and the {char.ToUpperInvariant(thing[0])}{thing[1..]}";

    internal static void Build(LlamaForCausalLM model, Llama2CTokenizer tokenizer, string dataDir)
    {
        var generator = new TextGenerator(model, tokenizer);
        var stories = new List<string>();
        ulong seed = 1;
        using (var writer = new StreamWriter(Path.Combine(dataDir, "title-stories.jsonl")))
        {
            foreach (string name in Names)
            {
                foreach (string thing in Things)
                {
                    string opening = $"Once upon a time, {name} found a {thing}.";
                    string story = opening + generator.Generate(opening, Sampling(seed++, 48));
                    story = Sentences(story);
                    var record = new
                    {
                        messages = new object[]
                        {
                            new { role = "user", content = Request(name, thing) },
                            new { role = "assistant", content = $"{Title(name, thing)}\n{story}" },
                        },
                    };
                    writer.WriteLine(JsonSerializer.Serialize(record));
                }
            }
        }

        // General text to replay against forgetting: the model's own stories from BOS.
        using var general = new StreamWriter(Path.Combine(dataDir, "general-stories.jsonl"));
        for (int i = 0; i < 40; i++)
        {
            general.WriteLine(JsonSerializer.Serialize(new { text = Sentences(generator.Generate(string.Empty, Sampling(seed++, 64))) }));
        }
    }

    private static GenerationOptions Sampling(ulong seed, int tokens) => new()
    {
        MaxNewTokens = tokens, Temperature = 0.8, TopK = 40, Seed = seed, StopStrings = new[] { "\n" },
    };

    /// <summary>Whole sentences only (cut after the last full stop).</summary>
    private static string Sentences(string text)
    {
        int end = text.LastIndexOf('.');
        return (end > 0 ? text[..(end + 1)] : text).Trim();
    }

    internal static IEnumerable<string> Lines(string path) => File.ReadLines(path).Where(l => l.Length > 0);
}

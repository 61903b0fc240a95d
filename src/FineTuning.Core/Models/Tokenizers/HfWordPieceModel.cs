using System;
using System.Collections.Generic;
using System.Text;
using System.Text.Json;
using FineTuning.Json;

namespace FineTuning.Models.Tokenizers;

/// <summary>
/// The tokenizers library's WordPiece model (BERT, https://arxiv.org/abs/1609.08144): greedy longest match from the
/// left, later pieces carrying <c>continuing_subword_prefix</c>; a word with an unmatchable rest, or longer than
/// <c>max_input_chars_per_word</c> characters, is one unknown token.
/// </summary>
internal sealed class HfWordPieceModel : IHfModel
{
    private readonly Dictionary<string, int> vocab;
    private readonly int unkId;
    private readonly string prefix;
    private readonly int maxChars;

    private HfWordPieceModel(Dictionary<string, int> vocab, int unkId, string prefix, int maxChars)
    {
        this.vocab = vocab;
        this.unkId = unkId;
        this.prefix = prefix;
        this.maxChars = maxChars;
    }

    public IReadOnlyDictionary<string, int> Vocabulary => vocab;

    internal static HfWordPieceModel Read(JsonFieldReader json, JsonElement model, string path)
    {
        Dictionary<string, int> vocab = HfVocabulary.Read(json, json.Required(model, path, "vocab"), path + ".vocab");
        string unk = json.OptionalString(model, path, "unk_token") ?? "[UNK]";
        if (!vocab.TryGetValue(unk, out int unkId)) throw json.Error(path + ".unk_token", $"'{unk}' is not in the vocabulary.");
        return new HfWordPieceModel(vocab, unkId, json.OptionalString(model, path, "continuing_subword_prefix") ?? "##",
            json.OptionalInt(model, path, "max_input_chars_per_word", 100));
    }

    public void Tokenize(string piece, List<int> ids)
    {
        var bounds = new List<int>();
        for (int i = 0; i < piece.Length; i += Rune.GetRuneAt(piece, i).Utf16SequenceLength) bounds.Add(i);
        bounds.Add(piece.Length);
        if (bounds.Count - 1 > maxChars)
        {
            ids.Add(unkId);
            return;
        }
        int first = ids.Count;
        int start = 0;
        while (start < bounds.Count - 1)
        {
            int found = -1, end = bounds.Count - 1;
            for (; end > start; end--)
            {
                string sub = piece[bounds[start]..bounds[end]];
                if (start > 0) sub = prefix + sub;
                if (vocab.TryGetValue(sub, out found)) break;
                found = -1;
            }
            if (found < 0)
            {
                ids.RemoveRange(first, ids.Count - first);
                ids.Add(unkId);
                return;
            }
            ids.Add(found);
            start = end;
        }
    }
}

/// <summary>Reads a <c>model.vocab</c> object (token -> id).</summary>
internal static class HfVocabulary
{
    /// <summary>
    /// Ids may leave gaps, but the id space (and so the token table the tokenizer allocates) stays proportional to the
    /// file: every id must be below <c>2 * entries + IdSlack</c>. Real vocabularies are dense.
    /// </summary>
    internal const int IdSlack = 1024;

    /// <summary>The largest id accepted when the file defines <paramref name="entries"/> tokens.</summary>
    internal static int MaxId(long entries) => (int)Math.Min(int.MaxValue - 1L, 2 * entries + IdSlack - 1);

    internal static Dictionary<string, int> Read(JsonFieldReader json, JsonElement element, string path)
    {
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        int count = 0;
        foreach (JsonProperty _ in json.Properties(element, path)) count++;
        int maxId = MaxId(count);
        foreach (JsonProperty p in json.Properties(element, path))
        {
            vocab[p.Name] = json.AsInt(p.Value, $"{path}[\"{p.Name}\"]", 0, maxId);
        }
        return vocab;
    }
}

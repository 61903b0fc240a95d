using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Text.Json.Nodes;

namespace FineTuning.Models.Tokenizers;

/// <summary>
/// Writes a llama2.c vocabulary as a Hugging Face <c>tokenizer.json</c> in the layout of HF's LLaMA (SentencePiece) fast
/// tokenizer: a BPE model with <c>byte_fallback</c>, spaces as <c>▁</c> (normalizer <c>Prepend("▁")</c> +
/// <c>Replace(" ", "▁")</c>, the dummy prefix), <c>&lt;unk&gt;</c>/<c>&lt;s&gt;</c>/<c>&lt;/s&gt;</c> as special added tokens
/// and a decoder that undoes it. Merges are derived from the scores as HF's <c>SentencePieceExtractor</c> and
/// llama.cpp's converter do: every pair of pieces whose concatenation is a piece, ranked by that piece's score (highest
/// first). llama2.c merges the adjacent pair whose concatenation scores highest; with distinct scores (SentencePiece
/// gives piece i the score -i) both merge in the same order, so the ids are the same.
/// </summary>
internal static class Llama2CTokenizerJson
{
    private const int FirstNormal = 259;
    private const string Marker = "\u2581";
    private static readonly string[] SpecialNames = { "<unk>", "<s>", "</s>" };

    /// <summary>The tokenizer.json object.</summary>
    internal static JsonObject TokenizerJson(IReadOnlyList<byte[]> pieces, IReadOnlyList<float> scores)
    {
        var names = new string[pieces.Count];
        var vocab = new JsonObject();
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < pieces.Count; i++)
        {
            names[i] = i < SpecialNames.Length ? SpecialNames[i] : i < FirstNormal ? Encoding.UTF8.GetString(pieces[i]) : Encoding.UTF8.GetString(pieces[i]).Replace(" ", Marker, StringComparison.Ordinal);
            if (!ids.TryAdd(names[i], i))
            {
                throw new NotSupportedException($"llama2.c tokens {ids[names[i]]} and {i} are both \"{names[i]}\" once spaces are written as ▁; such a vocabulary cannot be written as tokenizer.json (not supported yet).");
            }

            vocab[names[i]] = i;
        }

        var merges = new List<(float Score, int Left, int Right, int Merged)>();
        for (int merged = FirstNormal; merged < pieces.Count; merged++)
        {
            string whole = names[merged];
            for (int cut = 1; cut < whole.Length; cut++)
            {
                if (char.IsLowSurrogate(whole[cut])) continue;
                if (ids.TryGetValue(whole[..cut], out int left) && ids.TryGetValue(whole[cut..], out int right) && left >= FirstNormal && right >= FirstNormal)
                {
                    merges.Add((scores[merged], left, right, merged));
                }
            }
        }

        // Highest score first; equal scores (not in SentencePiece output) by the pieces' ids, as HF's extractor.
        merges.Sort((a, b) => a.Score != b.Score ? b.Score.CompareTo(a.Score) : a.Left != b.Left ? a.Left.CompareTo(b.Left) : a.Right.CompareTo(b.Right));
        var mergeArray = new JsonArray(merges.Select(m => (JsonNode)new JsonArray(names[m.Left], names[m.Right])).ToArray());

        return new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = new JsonArray(Enumerable.Range(0, SpecialNames.Length).Select(i => (JsonNode)AddedToken(i, SpecialNames[i])).ToArray()),
            ["normalizer"] = Sequence("normalizers", new JsonObject { ["type"] = "Prepend", ["prepend"] = Marker }, ReplaceNode(" ", Marker)),
            ["pre_tokenizer"] = null,
            ["post_processor"] = PostProcessor(),
            ["decoder"] = Sequence("decoders", ReplaceNode(Marker, " "), new JsonObject { ["type"] = "ByteFallback" }, new JsonObject { ["type"] = "Fuse" },
                new JsonObject { ["type"] = "Strip", ["content"] = " ", ["start"] = 1, ["stop"] = 0 }),
            ["model"] = new JsonObject
            {
                ["type"] = "BPE",
                ["dropout"] = null,
                ["unk_token"] = "<unk>",
                ["continuing_subword_prefix"] = null,
                ["end_of_word_suffix"] = null,
                ["fuse_unk"] = true,
                ["byte_fallback"] = true,
                ["ignore_merges"] = false,
                ["vocab"] = vocab,
                ["merges"] = mergeArray,
            },
        };
    }

    /// <summary>The tokenizer_config.json object (HF's LlamaTokenizerFast settings: BOS added, no EOS, no pad token).</summary>
    internal static JsonObject TokenizerConfig(int maxLength, string? chatTemplate)
    {
        var config = new JsonObject
        {
            ["tokenizer_class"] = "LlamaTokenizerFast",
            ["add_bos_token"] = true,
            ["add_eos_token"] = false,
            ["bos_token"] = "<s>",
            ["eos_token"] = "</s>",
            ["unk_token"] = "<unk>",
            ["pad_token"] = null,
            ["legacy"] = true,
            ["clean_up_tokenization_spaces"] = false,
            ["model_max_length"] = maxLength,
        };
        if (chatTemplate is not null) config["chat_template"] = chatTemplate;
        return config;
    }

    private static JsonObject AddedToken(int id, string content) => new()
    {
        ["id"] = id,
        ["content"] = content,
        ["single_word"] = false,
        ["lstrip"] = false,
        ["rstrip"] = false,
        ["normalized"] = false,
        ["special"] = true,
    };

    private static JsonObject ReplaceNode(string pattern, string content) => new()
    {
        ["type"] = "Replace",
        ["pattern"] = new JsonObject { ["String"] = pattern },
        ["content"] = content,
    };

    private static JsonObject Sequence(string field, params JsonNode[] items) => new()
    {
        ["type"] = "Sequence",
        [field] = new JsonArray(items),
    };

    private static JsonObject PostProcessor()
    {
        static JsonObject Special(string id) => new() { ["SpecialToken"] = new JsonObject { ["id"] = id, ["type_id"] = 0 } };
        static JsonObject Seq(string id) => new() { ["Sequence"] = new JsonObject { ["id"] = id, ["type_id"] = 0 } };
        return new JsonObject
        {
            ["type"] = "TemplateProcessing",
            ["single"] = new JsonArray(Special("<s>"), Seq("A")),
            ["pair"] = new JsonArray(Special("<s>"), Seq("A"), Special("<s>"), Seq("B")),
            ["special_tokens"] = new JsonObject
            {
                ["<s>"] = new JsonObject { ["id"] = "<s>", ["ids"] = new JsonArray(1), ["tokens"] = new JsonArray("<s>") },
            },
        };
    }
}

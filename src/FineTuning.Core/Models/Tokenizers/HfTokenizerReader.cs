using System.Collections.Generic;
using System.Linq;
using System.Text.Json;
using FineTuning.Json;

namespace FineTuning.Models.Tokenizers;

/// <summary>The parts of a tokenizer read from tokenizer.json and (optionally) tokenizer_config.json.</summary>
internal sealed record HfTokenizerParts(
    string ModelType,
    IHfModel Model,
    IHfNormalizer? Normalizer,
    IHfPreTokenizer? PreTokenizer,
    IHfDecoder? Decoder,
    HfAddedTokens AddedTokens,
    int BosId,
    int EosId,
    bool AddBosByDefault);

/// <summary>Reads the tokenizers library's serialization (https://github.com/huggingface/tokenizers, <c>tokenizer.json</c>).</summary>
internal static class HfTokenizerReader
{
    private static readonly (string Bos, string Eos)[] WellKnown =
    [
        ("<s>", "</s>"), ("<|begin_of_text|>", "<|end_of_text|>"), ("<|endoftext|>", "<|endoftext|>"), ("[CLS]", "[SEP]"),
    ];

    internal static HfTokenizerParts Read(string tokenizerJson, string tokenizerName, string? configJson, string configName)
    {
        var json = TokenizerJson.For(tokenizerName);
        using JsonDocument doc = TokenizerJson.Parse(tokenizerJson, tokenizerName);
        JsonElement root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object) throw json.Error("(root)", $"expected an object, found {root.ValueKind}.");

        JsonElement model = json.Required(root, string.Empty, "model");
        string type = json.OptionalString(model, "model", "type") ?? InferModelType(model);
        IHfModel hfModel = type switch
        {
            "BPE" => HfBpeModel.Read(json, model, "model"),
            "WordPiece" => HfWordPieceModel.Read(json, model, "model"),
            _ => throw json.Error("model.type", $"model type '{type}' is not supported (supported: BPE, WordPiece)."),
        };
        HfAddedTokens added = HfAddedTokens.Read(json, JsonFieldReader.Optional(root, "added_tokens"), "added_tokens", hfModel.Vocabulary.Count);
        IHfNormalizer? normalizer = HfNormalizers.Read(json, JsonFieldReader.Optional(root, "normalizer"), "normalizer");
        IHfPreTokenizer? preTokenizer = HfPreTokenizers.Read(json, JsonFieldReader.Optional(root, "pre_tokenizer"), "pre_tokenizer");
        IHfDecoder? decoder = HfDecoders.Read(json, JsonFieldReader.Optional(root, "decoder"), "decoder");

        (int? templateBos, int? templateEos) = ReadPostProcessor(json, JsonFieldReader.Optional(root, "post_processor"), "post_processor");
        RequireKnown(json, templateBos, "post_processor", "first", hfModel, added);
        RequireKnown(json, templateEos, "post_processor", "last", hfModel, added);
        int? bos = null, eos = null;
        bool? addBos = null;
        if (configJson is not null)
        {
            var config = TokenizerJson.For(configName);
            using JsonDocument configDoc = TokenizerJson.Parse(configJson, configName);
            JsonElement c = configDoc.RootElement;
            if (c.ValueKind != JsonValueKind.Object) throw config.Error("(root)", $"expected an object, found {c.ValueKind}.");
            bos = ResolveToken(config, c, "bos_token", hfModel, added);
            eos = ResolveToken(config, c, "eos_token", hfModel, added);
            if (JsonFieldReader.Optional(c, "add_bos_token") is not null) addBos = config.OptionalBool(c, string.Empty, "add_bos_token", false);
        }
        bos ??= templateBos ?? WellKnownId(added, WellKnown.Select(w => w.Bos));
        eos ??= templateEos ?? WellKnownId(added, WellKnown.Select(w => w.Eos));
        return new HfTokenizerParts(type, hfModel, normalizer, preTokenizer, decoder, added, bos ?? -1, eos ?? -1,
            addBos ?? templateBos is not null);
    }

    /// <summary>A special token the post-processor adds must be a token of this tokenizer (else decoding would index past its table).</summary>
    private static void RequireKnown(JsonFieldReader json, int? id, string path, string which, IHfModel model, HfAddedTokens added)
    {
        if (id is not { } value || added.Tokens.Any(t => t.Id == value) || model.Vocabulary.Values.Contains(value)) return;
        throw json.Error(path, $"the {which} special token has id {value}, which is neither in model.vocab nor in added_tokens");
    }

    private static string InferModelType(JsonElement model) =>
        JsonFieldReader.Optional(model, "merges") is not null ? "BPE"
        : JsonFieldReader.Optional(model, "vocab") is { ValueKind: JsonValueKind.Array } ? "Unigram"
        : JsonFieldReader.Optional(model, "max_input_chars_per_word") is not null ? "WordPiece"
        : "(missing)";

    /// <summary>The special tokens a TemplateProcessing / BertProcessing / RobertaProcessing puts around a single sequence.</summary>
    private static (int? Bos, int? Eos) ReadPostProcessor(JsonFieldReader json, JsonElement? element, string path)
    {
        if (element is not { } e) return (null, null);
        string type = json.RequiredString(e, path, "type");
        switch (type)
        {
            case "Sequence":
                int? bos = null, eos = null;
                foreach ((JsonElement p, string pPath) in json.Array(json.Required(e, path, "processors"), path + ".processors"))
                {
                    (int? b, int? s) = ReadPostProcessor(json, p, pPath);
                    bos ??= b;
                    eos ??= s;
                }
                return (bos, eos);
            case "BertProcessing" or "RobertaProcessing":
                return (PairId(json, json.Required(e, path, "cls"), path + ".cls"), PairId(json, json.Required(e, path, "sep"), path + ".sep"));
            case "TemplateProcessing":
                return ReadTemplate(json, e, path);
            default:
                // ByteLevel (offsets only) and others add no tokens to a single sequence.
                return (null, null);
        }
    }

    private static (int? Bos, int? Eos) ReadTemplate(JsonFieldReader json, JsonElement e, string path)
    {
        int? bos = null, eos = null;
        bool seenSequence = false;
        foreach ((JsonElement item, string itemPath) in json.Array(json.Required(e, path, "single"), path + ".single"))
        {
            if (JsonFieldReader.Optional(item, "Sequence") is not null)
            {
                seenSequence = true;
                continue;
            }
            string name = json.RequiredString(json.Required(item, itemPath, "SpecialToken"), itemPath + ".SpecialToken", "id");
            string tokenPath = $"{path}.special_tokens[\"{name}\"]";
            JsonElement special = json.Required(json.Required(e, path, "special_tokens"), path + ".special_tokens", name);
            int[] ids = json.Array(json.Required(special, tokenPath, "ids"), tokenPath + ".ids").Select(x => json.AsInt(x.Item, x.Path)).ToArray();
            if (ids.Length != 1) continue;
            if (!seenSequence) bos ??= ids[0];
            else eos ??= ids[0];
        }
        return (bos, eos);
    }

    private static int PairId(JsonFieldReader json, JsonElement pair, string path)
    {
        var items = json.Array(pair, path).ToList();
        return items.Count == 2 ? json.AsInt(items[1].Item, items[1].Path) : throw json.Error(path, "expected [token, id].");
    }

    private static int? ResolveToken(JsonFieldReader config, JsonElement c, string field, IHfModel model, HfAddedTokens added)
    {
        if (JsonFieldReader.Optional(c, field) is not { } value) return null;
        string content = value.ValueKind == JsonValueKind.Object ? config.RequiredString(value, field, "content") : config.AsString(value, field);
        return IdOf(model, added, content) ?? throw config.Error(field, $"'{content}' is neither an added token nor in the vocabulary.");
    }

    private static int? WellKnownId(HfAddedTokens added, IEnumerable<string> names)
    {
        foreach (string name in names)
        {
            if (added.Tokens.FirstOrDefault(t => t.Content == name && t.Special) is { } token) return token.Id;
        }
        return null;
    }

    internal static int? IdOf(IHfModel model, HfAddedTokens added, string content) =>
        added.Tokens.FirstOrDefault(t => t.Content == content) is { } token ? token.Id
        : model.Vocabulary.TryGetValue(content, out int id) ? id : null;
}

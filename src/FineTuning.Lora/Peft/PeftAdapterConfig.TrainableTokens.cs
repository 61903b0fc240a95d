using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;
using FineTuning.Json;

namespace FineTuning.Lora.Peft;

/// <summary>
/// PEFT's <c>trainable_token_indices</c> field of a LoRA config: a list of token ids (rows of the input embedding) or
/// an object mapping module names to lists; null when unused.
/// </summary>
public sealed partial record PeftAdapterConfig
{
    private const string TrainableTokenField = "trainable_token_indices";

    private object? TrainableTokenIndicesJson()
    {
        if (TrainableTokenIndices.Count > 0) return TrainableTokenIndices;
        if (TrainableTokenIndicesByModule.Count > 0) return new SortedDictionary<string, IReadOnlyList<int>>(TrainableTokenIndicesByModule.ToDictionary(kv => kv.Key, kv => kv.Value), StringComparer.Ordinal);
        return null;
    }

    private static IReadOnlyList<int> ReadTokenList(JsonFieldReader json, JsonElement root) =>
        JsonFieldReader.Optional(root, TrainableTokenField) is { ValueKind: JsonValueKind.Array } list ? Ids(json, list, TrainableTokenField) : Array.Empty<int>();

    private static IReadOnlyDictionary<string, IReadOnlyList<int>> ReadTokenDictionary(JsonFieldReader json, JsonElement root)
    {
        var result = new Dictionary<string, IReadOnlyList<int>>(StringComparer.Ordinal);
        switch (JsonFieldReader.Optional(root, TrainableTokenField))
        {
            case null or { ValueKind: JsonValueKind.Null or JsonValueKind.Array }:
                return result;
            case { ValueKind: JsonValueKind.Object } map:
                foreach (JsonProperty module in json.Properties(map, TrainableTokenField))
                    result[module.Name] = Ids(json, module.Value, $"{TrainableTokenField}.{module.Name}");
                return result;
            case { } other:
                throw json.Error(TrainableTokenField, $"expected a list of token ids or an object of module name to token ids, got {JsonFieldReader.Describe(other)}");
        }
    }

    private static IReadOnlyList<int> Ids(JsonFieldReader json, JsonElement list, string path) =>
        json.Array(list, path).Select(item => json.AsInt(item.Item, item.Path, 0)).ToArray();
}

using System;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;
using FineTuning.Models.Bert;
using FineTuning.Models.SafeTensors;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Models.HuggingFace;

/// <summary>
/// <c>bert</c> folders. <c>architectures</c> containing <c>BertForSequenceClassification</c> gives that classifier
/// (labels from <c>id2label</c>, else <c>num_labels</c>, else 2; HF's pooler head); anything else gives a
/// <see cref="BertModel"/>, with a pooler when the file has one. For a <see cref="BertModel"/> the <c>bert.</c>
/// prefix of task checkpoints is stripped, and the <c>cls.*</c> heads of the pretraining architectures the config
/// names (<c>BertForMaskedLM</c>, <c>BertForPreTraining</c>, <c>BertLMHeadModel</c>) are skipped. The
/// <c>embeddings.position_ids</c> buffer older HF versions saved is skipped everywhere.
/// </summary>
internal static class BertFolder
{
    private const string Prefix = "bert.";
    private static readonly string[] PretrainingArchitectures = { "BertForMaskedLM", "BertForPreTraining", "BertLMHeadModel" };

    internal static HfWeightMap Create(string configPath, string json, JsonElement root, ISafeTensorsReader reader, ScalarType dtype)
    {
        BertConfig config = HfConfigFile.Parse(configPath, () => BertConfig.FromJson(json));
        HfSizeCheck.RequireFits(configPath, reader, config);
        string[] architectures = Architectures(root);
        if (architectures.Contains("BertForSequenceClassification"))
        {
            int labels = HfConfigFile.Parse(configPath, () => NumLabels(root));
            if (labels < 2) throw new ModelConfigException($"'{configPath}': BertForSequenceClassification needs at least 2 labels, got {labels} (regression is not supported).");
            var classifier = new BertForSequenceClassification(new BertModel(config, addPoolingLayer: true), labels, BertClassifierPooling.Pooler);
            if (dtype != ScalarType.Float32) classifier.to(dtype);
            return new HfWeightMap(classifier, name => IsPositionIds(name) ? null : name, _ => false, key => key);
        }

        bool pooler = reader.TryGetInfo("pooler.dense.weight", out _) || reader.TryGetInfo(Prefix + "pooler.dense.weight", out _);
        bool skipHeads = architectures.Any(a => PretrainingArchitectures.Contains(a));
        var model = new BertModel(config, pooler);
        if (dtype != ScalarType.Float32) model.to(dtype);
        return new HfWeightMap(
            model,
            name =>
            {
                if (IsPositionIds(name) || (skipHeads && name.StartsWith("cls.", StringComparison.Ordinal))) return null;
                return name.StartsWith(Prefix, StringComparison.Ordinal) ? name[Prefix.Length..] : name;
            },
            _ => false,
            key => key);
    }

    internal static HfWeightMap Map(nn.Module model) => new(model, name => name, _ => false, key => key);

    internal static void WriteConfig(string path, BertConfig config, int? numLabels, ScalarType dtype)
    {
        JsonObject json = JsonNode.Parse(config.ToJson())!.AsObject();
        if (numLabels is int n)
        {
            var id2label = new JsonObject();
            var label2id = new JsonObject();
            for (int i = 0; i < n; i++)
            {
                id2label[i.ToString(System.Globalization.CultureInfo.InvariantCulture)] = $"LABEL_{i}";
                label2id[$"LABEL_{i}"] = i;
            }

            json["id2label"] = id2label;
            json["label2id"] = label2id;
        }

        HfConfigFile.Write(path, json, "bert", numLabels is null ? "BertModel" : "BertForSequenceClassification", dtype);
    }

    private static bool IsPositionIds(string name) => name is "embeddings.position_ids" or Prefix + "embeddings.position_ids";

    private static string[] Architectures(JsonElement root) =>
        root.TryGetProperty("architectures", out JsonElement a) && a.ValueKind == JsonValueKind.Array
            ? a.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!).ToArray()
            : Array.Empty<string>();

    private static int NumLabels(JsonElement root)
    {
        if (root.TryGetProperty("id2label", out JsonElement id2label) && id2label.ValueKind == JsonValueKind.Object)
        {
            return id2label.EnumerateObject().Count();
        }

        if (root.TryGetProperty("num_labels", out JsonElement n))
        {
            if (n.ValueKind != JsonValueKind.Number || !n.TryGetInt32(out int count)) throw new ModelConfigException($"num_labels must be an integer, got {n.GetRawText()}.");
            return count;
        }

        return 2;
    }
}

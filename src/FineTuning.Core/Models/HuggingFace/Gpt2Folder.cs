using System;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using FineTuning.Models.Gpt2;
using FineTuning.Models.SafeTensors;
using static TorchSharp.torch;

namespace FineTuning.Models.HuggingFace;

/// <summary>
/// <c>gpt2</c> folders. Names are <c>GPT2LMHeadModel</c>'s (<c>transformer.*</c>); files saved from a bare
/// <c>GPT2Model</c> (like the original <c>gpt2</c> upload: <c>wte.weight</c>, <c>h.0.attn.c_attn.weight</c>, ...) get
/// the <c>transformer.</c> prefix added. The causal-mask buffers <c>h.{i}.attn.bias</c> and
/// <c>h.{i}.attn.masked_bias</c> that older HF versions saved are skipped. Conv1D weights are transposed. An
/// <c>lm_head.weight</c> is accepted only as an exact copy of <c>wte</c> (the head is tied).
/// </summary>
internal static partial class Gpt2Folder
{
    private const string Prefix = "transformer.";

    internal static HfWeightMap Create(string configPath, string json, ISafeTensorsReader reader, ScalarType dtype)
    {
        Gpt2Config config = HfConfigFile.Parse(configPath, () => Gpt2Config.FromJson(json));
        HfSizeCheck.RequireFits(configPath, reader, config);
        return Map(new Gpt2LMHeadModel(config, dtype: dtype));
    }

    internal static HfWeightMap Map(Gpt2LMHeadModel model) => new(
        model,
        name =>
        {
            if (MaskBuffer().IsMatch(name)) return null;
            return name.StartsWith(Prefix, StringComparison.Ordinal) || name.StartsWith("lm_head.", StringComparison.Ordinal) ? name : Prefix + name;
        },
        IsConv1DWeight,
        key => key)
    {
        TiedTo = name => name == "lm_head.weight" ? TiedNames : null,
    };

    private static readonly string[] TiedNames = { "transformer.wte.weight", "wte.weight" };

    internal static void WriteConfig(string path, Gpt2LMHeadModel model, ScalarType dtype)
    {
        JsonObject json = JsonSerializer.SerializeToNode(model.Config, HfConfigFile.WriteOptions)!.AsObject();
        HfConfigFile.Write(path, json, "gpt2", "GPT2LMHeadModel", dtype);
    }

    private static bool IsConv1DWeight(string key) =>
        key.EndsWith(".c_attn.weight", StringComparison.Ordinal)
        || key.EndsWith(".c_proj.weight", StringComparison.Ordinal)
        || key.EndsWith(".c_fc.weight", StringComparison.Ordinal);

    [GeneratedRegex(@"^(transformer\.)?h\.\d+\.attn\.(masked_)?bias$", RegexOptions.CultureInvariant)]
    private static partial Regex MaskBuffer();
}

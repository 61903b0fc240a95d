using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;
using FineTuning.Adapters;
using FineTuning.Json;

namespace FineTuning.Lora.Peft;

/// <summary>The per-layer and initialisation fields of PEFT's LoRA config (rank/alpha patterns, layer selection, exclusions, init).</summary>
public sealed partial record PeftAdapterConfig
{
    /// <summary><c>rank_pattern</c>: per-layer ranks (keys as PEFT matches them, see <see cref="LoRAOptions.RankPattern"/>).</summary>
    public IReadOnlyDictionary<string, int> RankPattern { get; init; } = new Dictionary<string, int>();

    /// <summary><c>alpha_pattern</c>: per-layer alphas.</summary>
    public IReadOnlyDictionary<string, double> AlphaPattern { get; init; } = new Dictionary<string, double>();

    /// <summary><c>layers_to_transform</c> (empty: every layer).</summary>
    public IReadOnlyList<int> LayersToTransform { get; init; } = Array.Empty<int>();

    /// <summary><c>layers_pattern</c>.</summary>
    public IReadOnlyList<string> LayersPattern { get; init; } = Array.Empty<string>();

    /// <summary><c>exclude_modules</c> (a name list or a regex), or null.</summary>
    public ModuleTargets? ExcludeModules { get; init; }

    /// <summary><c>init_lora_weights</c> (with <c>loftq_config.loftq_iter</c> for LoftQ).</summary>
    public LoRAInit InitLoraWeights { get; init; } = LoRAInit.Default;

    /// <summary><c>loftq_config.loftq_bits</c> when written by LoftQ (the base's bits), else null.</summary>
    public int? LoftQBits { get; init; }

    /// <summary>The fields as PEFT writes them, over the defaults <see cref="Write"/> starts from.</summary>
    private void WriteFeatures(IDictionary<string, object?> json)
    {
        json["rank_pattern"] = RankPattern;
        json["alpha_pattern"] = AlphaPattern;
        json["layers_to_transform"] = LayersToTransform.Count == 0 ? null : LayersToTransform;
        json["layers_pattern"] = LayersPattern.Count switch { 0 => null, 1 => LayersPattern[0], _ => LayersPattern };
        if (ExcludeModules is not null) json["exclude_modules"] = ExcludeModules.PeftValue;
        json["init_lora_weights"] = InitLoraWeights.PeftValue switch { "true" => true, "false" => false, var v => v };
        var loftq = new SortedDictionary<string, object?>(StringComparer.Ordinal);
        if (InitLoraWeights.IsLoftQ)
        {
            loftq["loftq_iter"] = InitLoraWeights.Iterations;
            if (LoftQBits is int bits) loftq["loftq_bits"] = bits;
        }
        json["loftq_config"] = loftq;
    }

    /// <summary>Reads the fields of <see cref="WriteFeatures"/> into <paramref name="config"/>.</summary>
    private static PeftAdapterConfig ReadFeatures(JsonFieldReader json, JsonElement root, string path, PeftAdapterConfig config)
    {
        var ranks = new Dictionary<string, int>(StringComparer.Ordinal);
        if (JsonFieldReader.Optional(root, "rank_pattern") is { } rp)
            foreach (JsonProperty p in json.Properties(rp, "rank_pattern")) ranks[p.Name] = json.AsInt(p.Value, $"rank_pattern.{p.Name}", 1, MaxR);
        var alphas = new Dictionary<string, double>(StringComparer.Ordinal);
        if (JsonFieldReader.Optional(root, "alpha_pattern") is { } ap)
            foreach (JsonProperty p in json.Properties(ap, "alpha_pattern")) alphas[p.Name] = json.AsDouble(p.Value, $"alpha_pattern.{p.Name}", double.Epsilon, MaxLoraAlpha);
        IReadOnlyList<int> layers = JsonFieldReader.Optional(root, "layers_to_transform") switch
        {
            null => Array.Empty<int>(),
            { ValueKind: JsonValueKind.Number } v => new[] { json.AsInt(v, "layers_to_transform", 0) },
            { } v => json.Array(v, "layers_to_transform").Select(i => json.AsInt(i.Item, i.Path, 0)).ToArray(),
        };
        IReadOnlyList<string> layersPattern = JsonFieldReader.Optional(root, "layers_pattern") switch
        {
            null => Array.Empty<string>(),
            { ValueKind: JsonValueKind.String } v => new[] { v.GetString()! },
            { } v => json.StringArray(v, "layers_pattern"),
        };
        ModuleTargets? exclude = null;
        if (JsonFieldReader.Optional(root, "exclude_modules") is { } ex)
        {
            try
            {
                exclude = ModuleTargets.ReadFrom(new JsonObject { ["exclude_modules"] = JsonNode.Parse(ex.GetRawText()) }, path, "exclude_modules", readExclusions: false);
            }
            catch (AdapterFileException e)
            {
                throw json.Error("exclude_modules", e.Message.TrimEnd('.'));
            }
        }
        return config with
        {
            RankPattern = ranks,
            AlphaPattern = alphas,
            LayersToTransform = layers,
            LayersPattern = layersPattern,
            ExcludeModules = exclude,
            InitLoraWeights = ReadInit(json, root),
            LoftQBits = JsonFieldReader.Optional(root, "loftq_config") is { } lq && JsonFieldReader.Optional(lq, "loftq_bits") is { } b ? json.AsInt(b, "loftq_config.loftq_bits", 1, 8) : null,
        };
    }

    private static LoRAInit ReadInit(JsonFieldReader json, JsonElement root)
    {
        int iterations = JsonFieldReader.Optional(root, "loftq_config") is { } lq ? json.OptionalInt(lq, "loftq_config", "loftq_iter", 1, 1, 1000) : 1;
        return JsonFieldReader.Optional(root, "init_lora_weights") switch
        {
            null => LoRAInit.Default,
            { ValueKind: JsonValueKind.True } => LoRAInit.Default,
            { ValueKind: JsonValueKind.False } => LoRAInit.Random,
            { ValueKind: JsonValueKind.String } v => LoRAInit.FromPeftValue(v.GetString()!, iterations)
                ?? throw json.Error("init_lora_weights", $"\"{v.GetString()}\" is not supported yet (supported: true, false, gaussian, pissa, pissa_niter_N, olora, loftq)"),
            { } v => throw json.Error("init_lora_weights", $"expected true, false or a string, got {JsonFieldReader.Describe(v)}"),
        };
    }

    /// <summary>The options this config implies for a layer (patterns, layers, exclusions and init included).</summary>
    internal void CopyFeaturesTo(LoRAOptions options)
    {
        foreach ((string k, int v) in RankPattern) options.RankPattern[k] = v;
        foreach ((string k, double v) in AlphaPattern) options.AlphaPattern[k] = v;
        foreach (int l in LayersToTransform) options.LayersToTransform.Add(l);
        foreach (string p in LayersPattern) options.LayersPattern.Add(p);
        options.InitLoraWeights = InitLoraWeights;
    }
}

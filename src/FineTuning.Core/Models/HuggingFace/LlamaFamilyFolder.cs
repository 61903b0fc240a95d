using System.Text.Json;
using System.Text.Json.Nodes;
using FineTuning.Models.Llama;
using FineTuning.Models.SafeTensors;
using static TorchSharp.torch;

namespace FineTuning.Models.HuggingFace;

/// <summary><c>llama</c> (also SmolLM, TinyLlama), <c>mistral</c> and <c>qwen2</c> folders: HF names are our state-dict keys.</summary>
internal static class LlamaFamilyFolder
{
    internal static HfWeightMap Create(string configPath, string json, JsonElement root, string modelType, ISafeTensorsReader reader, ScalarType dtype, Device? device = null)
    {
        LlamaConfig config = HfConfigFile.Parse(configPath, () => LlamaConfig.FromJson(json));
        HfSizeCheck.RequireFits(configPath, reader, config);
        config = config with { ModelType = modelType };
        if (modelType == "qwen2")
        {
            // Qwen2 always has q/k/v biases and no o_proj bias; its sliding window only applies when use_sliding_window is set.
            bool sliding = root.TryGetProperty("use_sliding_window", out JsonElement use) && use.ValueKind == JsonValueKind.True;
            config = config with { AttentionBias = true, OutputProjectionBias = false, SlidingWindow = sliding ? config.SlidingWindow : null };
        }

        var model = new LlamaForCausalLM(config, device, dtype);
        return Map(model);
    }

    /// <summary>
    /// A CPU module of the same kind as <paramref name="meta"/>, a leaf of a LLaMA built on the meta device, holding the
    /// tensors <paramref name="read"/> returns for it (read from the file, no random initialisation first).
    /// </summary>
    internal static nn.Module Materialize(LlamaConfig config, string name, nn.Module meta, System.Func<string, Tensor> read)
    {
        switch (meta)
        {
            case TorchSharp.Modules.Linear l:
                return nn.Linear(new TorchSharp.Modules.Parameter(read("weight")), l.bias is null ? null : new TorchSharp.Modules.Parameter(read("bias")));
            case TorchSharp.Modules.Embedding e:
            {
                // Built with Embedding_from_pretrained on the loaded table, the model's logits differed from the dense load
                // in the bit-for-bit test (cause not pinned down): build the module and copy the table in.
                var embedding = nn.Embedding(e.weight!.shape[0], e.weight.shape[1], dtype: e.weight.dtype);
                using var noGrad = TorchSharp.torch.no_grad();
                using Tensor table = read("weight");
                embedding.weight!.copy_(table);
                return embedding;
            }
            case RmsNorm norm:
            {
                var rebuilt = new RmsNorm(config.HiddenSize, config.RmsNormEps, null, norm.Weight.dtype);
                using var noGrad = TorchSharp.torch.no_grad();
                using Tensor weight = read("weight");
                rebuilt.Weight.copy_(weight);
                return rebuilt;
            }

            default:
                throw new System.NotSupportedException($"Loading \"{name}\" ({meta.GetType().Name}) layer by layer is not supported yet.");
        }
    }

    /// <summary>
    /// HF names are the state-dict keys. <c>*.rotary_emb.inv_freq</c>, a buffer older transformers versions saved
    /// and HF itself ignores on load, is skipped: the frequencies are computed from the config. A tied model accepts
    /// an <c>lm_head.weight</c> only when it is an exact copy of <c>model.embed_tokens.weight</c>.
    /// </summary>
    internal static HfWeightMap Map(LlamaForCausalLM model) => new(
        model,
        name => name.EndsWith(".rotary_emb.inv_freq", System.StringComparison.Ordinal) ? null : name,
        _ => false,
        key => key)
    {
        TiedTo = name => model.Config.TieWordEmbeddings && name == "lm_head.weight" ? TiedNames : null,
    };

    private static readonly string[] TiedNames = { "model.embed_tokens.weight" };

    /// <summary>Refuses configurations whose config.json would load back as a different model.</summary>
    internal static void CheckSavable(LlamaForCausalLM model)
    {
        LlamaConfig config = model.Config;
        bool qwen2Biases = config.AttentionBias && !config.OutputProjectionBias;
        string? problem = config.ModelType switch
        {
            "qwen2" when !qwen2Biases => "model_type qwen2 needs q/k/v biases and no o_proj bias (AttentionBias = true, OutputProjectionBias = false)",
            "llama" or "mistral" when qwen2Biases => $"model_type {config.ModelType} cannot express q/k/v biases without an o_proj bias; use model_type qwen2",
            "llama" or "mistral" or "qwen2" => null,
            _ => $"model_type \"{config.ModelType}\" is not one of llama, mistral, qwen2",
        };
        if (problem is not null) throw new System.ArgumentException($"This LlamaForCausalLM cannot be saved so that it loads back the same: {problem}.", nameof(model));
    }

    internal static void WriteConfig(string path, LlamaForCausalLM model, ScalarType dtype)
    {
        LlamaConfig config = model.Config;
        JsonObject json = JsonSerializer.SerializeToNode(config, HfConfigFile.WriteOptions)!.AsObject();
        json["hidden_act"] = "silu";

        // HF reads 0 (our "same as the query heads") as a real count and would divide by it.
        json["num_key_value_heads"] = config.EffectiveKeyValueHeads;
        if (config.HeadDim is not > 0) json.Remove("head_dim");
        if (config.ModelType == "qwen2")
        {
            json.Remove("attention_bias");
            json["use_sliding_window"] = config.SlidingWindow is not null;
        }

        string architecture = config.ModelType switch
        {
            "mistral" => "MistralForCausalLM",
            "qwen2" => "Qwen2ForCausalLM",
            _ => "LlamaForCausalLM",
        };
        HfConfigFile.Write(path, json, config.ModelType, architecture, dtype);
    }
}

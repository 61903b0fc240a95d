using System.Text.Json;
using System.Text.Json.Nodes;
using FineTuning.Models.Llama;
using static TorchSharp.torch;

namespace FineTuning.Models.HuggingFace;

/// <summary><c>llama</c> (also SmolLM, TinyLlama), <c>mistral</c> and <c>qwen2</c> folders: HF names are our state-dict keys.</summary>
internal static class LlamaFamilyFolder
{
    internal static HfWeightMap Create(string configPath, string json, JsonElement root, string modelType, ScalarType dtype)
    {
        LlamaConfig config = HfConfigFile.Parse(configPath, () => LlamaConfig.FromJson(json));
        config = config with { ModelType = modelType };
        if (modelType == "qwen2")
        {
            // Qwen2 always has q/k/v biases and no o_proj bias; its sliding window only applies when use_sliding_window is set.
            bool sliding = root.TryGetProperty("use_sliding_window", out JsonElement use) && use.ValueKind == JsonValueKind.True;
            config = config with { AttentionBias = true, OutputProjectionBias = false, SlidingWindow = sliding ? config.SlidingWindow : null };
        }

        var model = new LlamaForCausalLM(config, dtype: dtype);
        return Map(model);
    }

    internal static HfWeightMap Map(LlamaForCausalLM model) => new(model, name => name, _ => false, key => key);

    internal static void WriteConfig(string path, LlamaForCausalLM model, ScalarType dtype)
    {
        LlamaConfig config = model.Config;
        JsonObject json = JsonSerializer.SerializeToNode(config, HfConfigFile.WriteOptions)!.AsObject();
        json["hidden_act"] = "silu";
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

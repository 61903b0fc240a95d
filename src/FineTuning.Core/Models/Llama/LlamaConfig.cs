using System.Collections.Generic;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace FineTuning.Models.Llama;

/// <summary>
/// Shape of a LLaMA-family decoder (LLaMA, Mistral, Qwen2, SmolLM, TinyLlama).
/// Property names follow Hugging Face's <c>config.json</c> fields, given in each property's docs, so
/// <see cref="FromJson"/> reads such a file directly (unknown fields are ignored).
/// </summary>
public sealed record LlamaConfig
{
    /// <summary><c>hidden_size</c>: width of the residual stream.</summary>
    [JsonPropertyName("hidden_size")]
    public int HiddenSize { get; init; }

    /// <summary><c>intermediate_size</c>: width of the SwiGLU MLP.</summary>
    [JsonPropertyName("intermediate_size")]
    public int IntermediateSize { get; init; }

    /// <summary><c>num_hidden_layers</c>: number of decoder layers.</summary>
    [JsonPropertyName("num_hidden_layers")]
    public int NumHiddenLayers { get; init; }

    /// <summary><c>num_attention_heads</c>: number of query heads.</summary>
    [JsonPropertyName("num_attention_heads")]
    public int NumAttentionHeads { get; init; }

    /// <summary><c>num_key_value_heads</c>: number of key/value heads (grouped-query attention); 0 means equal to the query heads.</summary>
    [JsonPropertyName("num_key_value_heads")]
    public int NumKeyValueHeads { get; init; }

    /// <summary><c>vocab_size</c>: number of token ids.</summary>
    [JsonPropertyName("vocab_size")]
    public int VocabSize { get; init; }

    /// <summary><c>rms_norm_eps</c>: epsilon added to the mean square in RMSNorm.</summary>
    [JsonPropertyName("rms_norm_eps")]
    public double RmsNormEps { get; init; } = 1e-6;

    /// <summary><c>rope_theta</c>: base of the rotary embedding frequencies.</summary>
    [JsonPropertyName("rope_theta")]
    public double RopeTheta { get; init; } = 10000.0;

    /// <summary><c>max_position_embeddings</c>: longest sequence (prompt plus generated tokens) the model supports.</summary>
    [JsonPropertyName("max_position_embeddings")]
    public int MaxPositionEmbeddings { get; init; } = 2048;

    /// <summary><c>tie_word_embeddings</c>: the output head reuses <c>model.embed_tokens.weight</c> and there is no <c>lm_head.weight</c>.</summary>
    [JsonPropertyName("tie_word_embeddings")]
    public bool TieWordEmbeddings { get; init; }

    /// <summary><c>head_dim</c>: width of one attention head; null or 0 means <c>hidden_size / num_attention_heads</c>.</summary>
    [JsonPropertyName("head_dim")]
    public int? HeadDim { get; init; }

    /// <summary><c>attention_bias</c>: q/k/v/o projections carry a bias (Qwen2 uses q/k/v bias; see <see cref="OutputProjectionBias"/>).</summary>
    [JsonPropertyName("attention_bias")]
    public bool AttentionBias { get; init; }

    /// <summary><c>model_type</c>: the Hugging Face architecture family (<c>llama</c>, <c>mistral</c>, <c>qwen2</c>); written back on save.</summary>
    [JsonPropertyName("model_type")]
    public string ModelType { get; init; } = "llama";

    /// <summary>
    /// <c>sliding_window</c>: each token attends to at most this many previous tokens (Mistral). Sliding-window
    /// attention is not implemented; instead <see cref="LlamaForCausalLM.Forward"/> refuses sequences (cache
    /// included) longer than the window, where full attention would give different results. Null = no window.
    /// </summary>
    [JsonPropertyName("sliding_window")]
    public int? SlidingWindow { get; init; }

    /// <summary><c>rope_scaling</c>: rotary frequency scaling (only the <c>llama3</c> type); null = none.</summary>
    [JsonPropertyName("rope_scaling")]
    public LlamaRopeScaling? RopeScaling { get; init; }

    /// <summary>
    /// Whether <c>o_proj</c> has a bias when <see cref="AttentionBias"/> is set. HF LLaMA sets both together;
    /// Qwen2 has q/k/v bias but no o_proj bias. Not an HF field; defaults to true (LLaMA behaviour).
    /// </summary>
    [JsonIgnore]
    public bool OutputProjectionBias { get; init; } = true;

    /// <summary>The effective head width: <see cref="HeadDim"/> if set, else hidden size / heads.</summary>
    [JsonIgnore]
    public int EffectiveHeadDim => HeadDim is > 0 ? HeadDim.Value : NumAttentionHeads > 0 ? HiddenSize / NumAttentionHeads : 0;

    /// <summary>The effective number of key/value heads: <see cref="NumKeyValueHeads"/>, or the query heads when 0.</summary>
    [JsonIgnore]
    public int EffectiveKeyValueHeads => NumKeyValueHeads > 0 ? NumKeyValueHeads : NumAttentionHeads;

    /// <summary>Reads a Hugging Face <c>config.json</c> text and validates it.</summary>
    /// <param name="json">The JSON text.</param>
    /// <returns>The validated configuration.</returns>
    /// <exception cref="ModelConfigException">The JSON is malformed or the values are invalid.</exception>
    public static LlamaConfig FromJson(string json)
    {
        HuggingFace.HfConfigFile.Validate(json, "LlamaConfig JSON");
        LlamaConfig? config;
        try
        {
            config = JsonSerializer.Deserialize<LlamaConfig>(json, JsonOptions);
        }
        catch (JsonException e)
        {
            throw new ModelConfigException($"LlamaConfig JSON is malformed: {e.Message}", e);
        }

        if (config is null) throw new ModelConfigException("LlamaConfig JSON is null.");
        List<string> problems = UnsupportedFields(json);
        config.CollectProblems(problems);
        if (problems.Count > 0) throw new ModelConfigException(nameof(LlamaConfig), problems);
        return config;
    }

    /// <summary>Checks every value and throws one exception that lists all problems.</summary>
    /// <exception cref="ModelConfigException">At least one value is invalid.</exception>
    public void Validate()
    {
        var problems = new List<string>();
        CollectProblems(problems);
        if (problems.Count > 0) throw new ModelConfigException(nameof(LlamaConfig), problems);
    }

    private void CollectProblems(List<string> problems)
    {
        void Positive(string name, long value)
        {
            if (value <= 0) problems.Add($"{name} must be positive, got {value}.");
        }

        Positive("hidden_size", HiddenSize);
        Positive("intermediate_size", IntermediateSize);
        Positive("num_hidden_layers", NumHiddenLayers);
        Positive("num_attention_heads", NumAttentionHeads);
        Positive("vocab_size", VocabSize);
        Positive("max_position_embeddings", MaxPositionEmbeddings);
        if (NumKeyValueHeads < 0) problems.Add($"num_key_value_heads must not be negative, got {NumKeyValueHeads}.");
        if (SlidingWindow is <= 0) problems.Add($"sliding_window must be positive or null, got {SlidingWindow}.");
        RopeScaling?.Validate(problems);
        if (HeadDim is < 0) problems.Add($"head_dim must not be negative, got {HeadDim}.");
        if (!(RmsNormEps > 0) || double.IsInfinity(RmsNormEps)) problems.Add($"rms_norm_eps must be a positive finite number, got {RmsNormEps}.");
        if (!(RopeTheta > 0) || double.IsInfinity(RopeTheta)) problems.Add($"rope_theta must be a positive finite number, got {RopeTheta}.");
        if (NumAttentionHeads > 0 && NumKeyValueHeads > 0 && NumAttentionHeads % NumKeyValueHeads != 0)
        {
            problems.Add($"num_attention_heads ({NumAttentionHeads}) must be a multiple of num_key_value_heads ({NumKeyValueHeads}).");
        }

        if (NumAttentionHeads > 0 && HiddenSize > 0 && HeadDim is null or 0 && HiddenSize % NumAttentionHeads != 0)
        {
            problems.Add($"hidden_size ({HiddenSize}) must be a multiple of num_attention_heads ({NumAttentionHeads}) when head_dim is not given.");
        }

        int headDim = EffectiveHeadDim;
        if (NumAttentionHeads > 0 && headDim > 0 && headDim % 2 != 0)
        {
            problems.Add($"the head width ({headDim}) must be even for rotary embeddings.");
        }
    }

    /// <summary>Fields this implementation would silently ignore though they change the model's output.</summary>
    private static List<string> UnsupportedFields(string json)
    {
        var problems = new List<string>();
        using JsonDocument document = JsonDocument.Parse(json);
        JsonElement root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object) return problems;
        if (root.TryGetProperty("mlp_bias", out JsonElement mlpBias) && mlpBias.ValueKind == JsonValueKind.True)
        {
            problems.Add("mlp_bias = true is not supported.");
        }

        if (root.TryGetProperty("hidden_act", out JsonElement act) && act.ValueKind == JsonValueKind.String && act.GetString() != "silu")
        {
            problems.Add($"hidden_act must be \"silu\", got \"{act.GetString()}\".");
        }

        return problems;
    }

    private static readonly JsonSerializerOptions JsonOptions = new(Json.JsonReflection.Options()) { NumberHandling = JsonNumberHandling.AllowReadingFromString };
}

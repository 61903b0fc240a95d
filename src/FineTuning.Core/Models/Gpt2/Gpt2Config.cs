using System.Collections.Generic;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace FineTuning.Models.Gpt2;

/// <summary>
/// Shape of a GPT-2 decoder (Radford et al. 2019). Property names follow Hugging Face's <c>GPT2Config</c>
/// fields, given in each property's docs; defaults are those of the 124M <c>gpt2</c> checkpoint.
/// </summary>
public sealed record Gpt2Config
{
    /// <summary><c>vocab_size</c>: number of token ids.</summary>
    [JsonPropertyName("vocab_size")]
    public int VocabSize { get; init; } = 50257;

    /// <summary><c>n_positions</c>: rows of the learned position table (the longest sequence).</summary>
    [JsonPropertyName("n_positions")]
    public int NPositions { get; init; } = 1024;

    /// <summary><c>n_embd</c>: width of the residual stream.</summary>
    [JsonPropertyName("n_embd")]
    public int NEmbd { get; init; } = 768;

    /// <summary><c>n_layer</c>: number of blocks.</summary>
    [JsonPropertyName("n_layer")]
    public int NLayer { get; init; } = 12;

    /// <summary><c>n_head</c>: number of attention heads; must divide <see cref="NEmbd"/>.</summary>
    [JsonPropertyName("n_head")]
    public int NHead { get; init; } = 12;

    /// <summary><c>n_inner</c>: width of the MLP; null means 4 x <see cref="NEmbd"/>.</summary>
    [JsonPropertyName("n_inner")]
    public int? NInner { get; init; }

    /// <summary><c>activation_function</c>: only <c>gelu_new</c> (tanh-approximated GELU) is supported.</summary>
    [JsonPropertyName("activation_function")]
    public string ActivationFunction { get; init; } = "gelu_new";

    /// <summary><c>layer_norm_epsilon</c>: epsilon of every LayerNorm.</summary>
    [JsonPropertyName("layer_norm_epsilon")]
    public double LayerNormEpsilon { get; init; } = 1e-5;

    /// <summary><c>embd_pdrop</c>: dropout after the embeddings (training mode only).</summary>
    [JsonPropertyName("embd_pdrop")]
    public double EmbdPdrop { get; init; } = 0.1;

    /// <summary><c>attn_pdrop</c>: dropout on attention probabilities (training mode only).</summary>
    [JsonPropertyName("attn_pdrop")]
    public double AttnPdrop { get; init; } = 0.1;

    /// <summary><c>resid_pdrop</c>: dropout before each residual add (training mode only).</summary>
    [JsonPropertyName("resid_pdrop")]
    public double ResidPdrop { get; init; } = 0.1;

    /// <summary><c>tie_word_embeddings</c>: the output head reuses <c>transformer.wte.weight</c>; only true is supported.</summary>
    [JsonPropertyName("tie_word_embeddings")]
    public bool TieWordEmbeddings { get; init; } = true;

    /// <summary>The MLP width: <see cref="NInner"/>, or 4 x <see cref="NEmbd"/>.</summary>
    [JsonIgnore]
    public int EffectiveInner => NInner is > 0 ? NInner.Value : 4 * NEmbd;

    /// <summary>Reads a Hugging Face <c>config.json</c> text and validates it (unknown fields are ignored).</summary>
    /// <param name="json">The JSON text.</param>
    /// <returns>The validated configuration.</returns>
    /// <exception cref="ModelConfigException">The JSON is malformed, a value is invalid, or a field asks for behaviour not implemented.</exception>
    public static Gpt2Config FromJson(string json)
    {
        HuggingFace.HfConfigFile.Validate(json, "Gpt2Config JSON");
        Gpt2Config? config;
        try
        {
            config = JsonSerializer.Deserialize<Gpt2Config>(json, Json.JsonReflection.Options());
        }
        catch (JsonException e)
        {
            throw new ModelConfigException($"Gpt2Config JSON is malformed: {e.Message}", e);
        }

        if (config is null) throw new ModelConfigException("Gpt2Config JSON is null.");
        var problems = new List<string>();
        using (JsonDocument document = JsonDocument.Parse(json))
        {
            // Fields that would change the output if ignored.
            JsonElement root = document.RootElement;
            if (root.TryGetProperty("scale_attn_weights", out JsonElement scale) && scale.ValueKind == JsonValueKind.False) problems.Add("scale_attn_weights = false is not supported.");
            if (root.TryGetProperty("scale_attn_by_inverse_layer_idx", out JsonElement inv) && inv.ValueKind == JsonValueKind.True) problems.Add("scale_attn_by_inverse_layer_idx = true is not supported.");
            if (root.TryGetProperty("add_cross_attention", out JsonElement cross) && cross.ValueKind == JsonValueKind.True) problems.Add("add_cross_attention = true is not supported.");
        }

        config.CollectProblems(problems);
        if (problems.Count > 0) throw new ModelConfigException(nameof(Gpt2Config), problems);
        return config;
    }

    /// <summary>Checks every value and throws one exception that lists all problems.</summary>
    /// <exception cref="ModelConfigException">At least one value is invalid.</exception>
    public void Validate()
    {
        var problems = new List<string>();
        CollectProblems(problems);
        if (problems.Count > 0) throw new ModelConfigException(nameof(Gpt2Config), problems);
    }

    private void CollectProblems(List<string> problems)
    {
        if (VocabSize <= 0) problems.Add($"vocab_size must be positive, got {VocabSize}.");
        if (NPositions <= 0) problems.Add($"n_positions must be positive, got {NPositions}.");
        if (NEmbd <= 0) problems.Add($"n_embd must be positive, got {NEmbd}.");
        if (NLayer <= 0) problems.Add($"n_layer must be positive, got {NLayer}.");
        if (NHead <= 0 || (NEmbd > 0 && NEmbd % NHead != 0)) problems.Add($"n_head ({NHead}) must be positive and divide n_embd ({NEmbd}).");
        if (NInner is < 0) problems.Add($"n_inner must not be negative, got {NInner}.");
        if (ActivationFunction != "gelu_new") problems.Add($"activation_function must be \"gelu_new\", got \"{ActivationFunction}\".");
        if (!(LayerNormEpsilon > 0) || double.IsInfinity(LayerNormEpsilon)) problems.Add($"layer_norm_epsilon must be a positive finite number, got {LayerNormEpsilon}.");
        foreach ((string name, double p) in new[] { ("embd_pdrop", EmbdPdrop), ("attn_pdrop", AttnPdrop), ("resid_pdrop", ResidPdrop) })
        {
            if (p is < 0 or >= 1 || double.IsNaN(p)) problems.Add($"{name} must be in [0, 1), got {p}.");
        }

        if (!TieWordEmbeddings) problems.Add("tie_word_embeddings = false is not supported (GPT-2 ties its output head to wte).");
    }
}

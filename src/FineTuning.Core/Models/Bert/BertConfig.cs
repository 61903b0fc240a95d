using System;
using System.Collections.Generic;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace FineTuning.Models.Bert;

/// <summary>
/// The hyper-parameters of a BERT encoder, with the field names of Hugging Face's <c>config.json</c>
/// (<c>BertConfig</c> in transformers). Defaults are those of all-MiniLM-L6-v2.
/// </summary>
public sealed class BertConfig
{
    private static readonly JsonSerializerOptions JsonOptions = Json.JsonReflection.Options(indented: true);

    /// <summary>Number of rows of the word embedding table.</summary>
    [JsonPropertyName("vocab_size")]
    public int VocabSize { get; set; } = 30522;

    /// <summary>Width of every hidden state.</summary>
    [JsonPropertyName("hidden_size")]
    public int HiddenSize { get; set; } = 384;

    /// <summary>Number of transformer layers.</summary>
    [JsonPropertyName("num_hidden_layers")]
    public int NumHiddenLayers { get; set; } = 6;

    /// <summary>Number of attention heads; must divide <see cref="HiddenSize"/>.</summary>
    [JsonPropertyName("num_attention_heads")]
    public int NumAttentionHeads { get; set; } = 12;

    /// <summary>Width of the feed-forward layer.</summary>
    [JsonPropertyName("intermediate_size")]
    public int IntermediateSize { get; set; } = 1536;

    /// <summary>Activation of the feed-forward layer; only <c>gelu</c> (the exact, erf-based GELU) is supported.</summary>
    [JsonPropertyName("hidden_act")]
    public string HiddenAct { get; set; } = "gelu";

    /// <summary>Dropout after embeddings, attention output and feed-forward output.</summary>
    [JsonPropertyName("hidden_dropout_prob")]
    public double HiddenDropoutProb { get; set; } = 0.1;

    /// <summary>Dropout on attention probabilities.</summary>
    [JsonPropertyName("attention_probs_dropout_prob")]
    public double AttentionProbsDropoutProb { get; set; } = 0.1;

    /// <summary>Number of rows of the position embedding table (the longest input).</summary>
    [JsonPropertyName("max_position_embeddings")]
    public int MaxPositionEmbeddings { get; set; } = 512;

    /// <summary>Number of rows of the token type (segment) embedding table.</summary>
    [JsonPropertyName("type_vocab_size")]
    public int TypeVocabSize { get; set; } = 2;

    /// <summary>Epsilon of every LayerNorm.</summary>
    [JsonPropertyName("layer_norm_eps")]
    public double LayerNormEps { get; set; } = 1e-12;

    /// <summary>Id of the padding token.</summary>
    [JsonPropertyName("pad_token_id")]
    public int PadTokenId { get; set; }

    /// <summary>Width of one attention head.</summary>
    [JsonIgnore]
    public int HeadSize => HiddenSize / NumAttentionHeads;

    /// <summary>Reads a Hugging Face <c>config.json</c>; unknown fields are ignored.</summary>
    /// <param name="json">The file's text.</param>
    /// <exception cref="FineTuningException">The JSON is malformed or the values are inconsistent.</exception>
    public static BertConfig FromJson(string json)
    {
        HuggingFace.HfConfigFile.Validate(json, "BertConfig JSON");
        ArgumentNullException.ThrowIfNull(json);
        BertConfig? config;
        try
        {
            config = JsonSerializer.Deserialize<BertConfig>(json, JsonOptions);
        }
        catch (JsonException e)
        {
            throw new FineTuningException($"The BERT config.json is malformed: {e.Message}", e);
        }
        if (config is null) throw new FineTuningException("The BERT config.json is empty (null).");
        config.Validate();
        return config;
    }

    /// <summary>Writes the config as Hugging Face <c>config.json</c> text.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <summary>Returns an independent copy.</summary>
    public BertConfig Clone() => (BertConfig)MemberwiseClone();

    /// <summary>Checks every value and reports all problems in one exception.</summary>
    /// <exception cref="FineTuningException">At least one value is out of range.</exception>
    public void Validate()
    {
        var problems = new List<string>();
        if (VocabSize <= 0) problems.Add($"vocab_size must be positive, got {VocabSize}");
        if (HiddenSize <= 0) problems.Add($"hidden_size must be positive, got {HiddenSize}");
        if (NumHiddenLayers < 0) problems.Add($"num_hidden_layers must not be negative, got {NumHiddenLayers}");
        if (NumAttentionHeads <= 0 || HiddenSize % Math.Max(NumAttentionHeads, 1) != 0)
        {
            problems.Add($"num_attention_heads ({NumAttentionHeads}) must be positive and divide hidden_size ({HiddenSize})");
        }
        if (IntermediateSize <= 0) problems.Add($"intermediate_size must be positive, got {IntermediateSize}");
        if (!string.Equals(HiddenAct, "gelu", StringComparison.Ordinal)) problems.Add($"hidden_act '{HiddenAct}' is not supported (only 'gelu')");
        if (HiddenDropoutProb is < 0 or >= 1) problems.Add($"hidden_dropout_prob must be in [0, 1), got {HiddenDropoutProb}");
        if (AttentionProbsDropoutProb is < 0 or >= 1) problems.Add($"attention_probs_dropout_prob must be in [0, 1), got {AttentionProbsDropoutProb}");
        if (MaxPositionEmbeddings <= 0) problems.Add($"max_position_embeddings must be positive, got {MaxPositionEmbeddings}");
        if (TypeVocabSize <= 0) problems.Add($"type_vocab_size must be positive, got {TypeVocabSize}");
        if (!(LayerNormEps > 0)) problems.Add($"layer_norm_eps must be positive, got {LayerNormEps}");
        if (PadTokenId < 0 || PadTokenId >= VocabSize) problems.Add($"pad_token_id must be in [0, vocab_size), got {PadTokenId}");
        if (problems.Count > 0) throw new FineTuningException("Invalid BERT config: " + string.Join("; ", problems) + ".");
    }
}

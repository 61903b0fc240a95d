using System.Collections.Generic;
using System.Text.Json.Serialization;

namespace FineTuning.Models.Llama;

/// <summary>
/// <c>rope_scaling</c> of a Hugging Face LLaMA <c>config.json</c>. Only the <c>llama3</c> type (Llama 3.1/3.2) is
/// supported: low frequencies are divided by <see cref="Factor"/>, high frequencies kept, and the band between
/// smoothly interpolated (HF <c>_compute_llama3_parameters</c>). Other types (<c>linear</c>, <c>dynamic</c>,
/// <c>yarn</c>, ...) except <c>default</c> (no scaling) are rejected by <see cref="LlamaConfig.Validate"/> rather than ignored.
/// </summary>
public sealed record LlamaRopeScaling
{
    /// <summary>The scaling type this library implements.</summary>
    public const string Llama3 = "llama3";

    /// <summary>HF's name for "no scaling" (plain rotary frequencies), accepted as such.</summary>
    public const string Default = "default";

    /// <summary><c>rope_type</c>: the scaling method (current HF spelling).</summary>
    [JsonPropertyName("rope_type")]
    public string? RopeType { get; init; }

    /// <summary><c>type</c>: the scaling method (older HF spelling, used when <see cref="RopeType"/> is absent).</summary>
    [JsonPropertyName("type")]
    public string? Type { get; init; }

    /// <summary><c>factor</c>: how much the context was extended (8 for Llama 3.1).</summary>
    [JsonPropertyName("factor")]
    public double Factor { get; init; }

    /// <summary><c>low_freq_factor</c>: wavelengths above <c>original / low_freq_factor</c> are fully scaled.</summary>
    [JsonPropertyName("low_freq_factor")]
    public double LowFreqFactor { get; init; } = 1.0;

    /// <summary><c>high_freq_factor</c>: wavelengths below <c>original / high_freq_factor</c> are kept.</summary>
    [JsonPropertyName("high_freq_factor")]
    public double HighFreqFactor { get; init; } = 4.0;

    /// <summary><c>original_max_position_embeddings</c>: the context length the model was pretrained with.</summary>
    [JsonPropertyName("original_max_position_embeddings")]
    public int OriginalMaxPositionEmbeddings { get; init; } = 8192;

    /// <summary>The method: <see cref="RopeType"/>, else <see cref="Type"/>.</summary>
    [JsonIgnore]
    public string? EffectiveType => RopeType ?? Type;

    internal void Validate(List<string> problems)
    {
        if (EffectiveType == Default) return;
        if (EffectiveType != Llama3)
        {
            problems.Add($"rope_scaling type \"{EffectiveType}\" is not supported (only \"{Llama3}\", or \"{Default}\" = no scaling).");
            return;
        }

        if (!(Factor >= 1) || double.IsInfinity(Factor)) problems.Add($"rope_scaling.factor must be a finite number >= 1, got {Factor}.");
        if (!(LowFreqFactor > 0) || double.IsInfinity(LowFreqFactor)) problems.Add($"rope_scaling.low_freq_factor must be positive, got {LowFreqFactor}.");
        if (!(HighFreqFactor > LowFreqFactor) || double.IsInfinity(HighFreqFactor))
        {
            problems.Add($"rope_scaling.high_freq_factor ({HighFreqFactor}) must be finite and greater than low_freq_factor ({LowFreqFactor}).");
        }

        if (OriginalMaxPositionEmbeddings <= 0)
        {
            problems.Add($"rope_scaling.original_max_position_embeddings must be positive, got {OriginalMaxPositionEmbeddings}.");
        }
    }
}

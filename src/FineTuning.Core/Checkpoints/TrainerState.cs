using System.Collections.Generic;
using System.Text.Json.Serialization;
using FineTuning.Training;

namespace FineTuning.Checkpoints;

/// <summary>The contents of <c>trainer_state.json</c> (field names as Hugging Face's Trainer where they exist).</summary>
internal sealed record TrainerState(
    [property: JsonPropertyName("global_step")] long GlobalStep,
    [property: JsonPropertyName("max_steps")] long MaxSteps,
    [property: JsonPropertyName("seed")] int Seed,
    [property: JsonPropertyName("skipped_steps")] int SkippedSteps,
    [property: JsonPropertyName("log_history")] IReadOnlyList<StepMetrics> LogHistory,
    [property: JsonPropertyName("evaluations")] IReadOnlyList<EvaluationMetrics> Evaluations);

using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Serialization;
using FineTuning.Json;
using FineTuning.Training;

namespace FineTuning.Checkpoints;

/// <summary>The contents of <c>trainer_state.json</c> (field names as Hugging Face's Trainer where they exist).</summary>
internal sealed record TrainerState(
    [property: JsonPropertyName("global_step")] long GlobalStep,
    [property: JsonPropertyName("max_steps")] long MaxSteps,
    [property: JsonPropertyName("seed")] int Seed,
    [property: JsonPropertyName("skipped_steps")] int SkippedSteps,
    [property: JsonPropertyName("log_history")] IReadOnlyList<StepMetrics> LogHistory,
    [property: JsonPropertyName("evaluations")] IReadOnlyList<EvaluationMetrics> Evaluations)
{
    /// <summary>
    /// Reads and checks <paramref name="statePath"/>: every problem (syntax, duplicate keys, invalid strings, a missing or
    /// null list, a null entry, negative or inconsistent counters) is a <see cref="CheckpointException"/> naming the file.
    /// </summary>
    internal static TrainerState Read(string statePath)
    {
        JsonErrorFactory error = (field, line, problem) => new CheckpointException(
            $"{statePath}{(line > 0 ? $" line {line}" : "")}{(field is null ? "" : $", field \"{field}\"")}: {problem}.");
        TrainerState? state;
        using (JsonDocument document = JsonInput.ParseFile(statePath, error, JsonLimits.Strict))
        {
            var fields = new JsonFieldReader(error);
            JsonElement root = fields.RequireObject(document.RootElement, null);
            foreach (string list in new[] { "log_history", "evaluations" })
            {
                foreach ((JsonElement item, string path) in fields.Array(fields.Required(root, null, list), list)) fields.RequireObject(item, path);
            }

            try
            {
                state = document.RootElement.Deserialize<TrainerState>(Json.JsonReflection.Options());
            }
            catch (Exception e) when (e is JsonException or NotSupportedException or ArgumentException)
            {
                throw new CheckpointException($"{statePath}: {e.Message}", e);
            }
        }

        if (state is null) throw error(null, 0, "holds null");
        if (state.LogHistory is null || state.LogHistory.Any(m => m is null)) throw error("log_history", 0, "expected a list of step records without nulls");
        if (state.Evaluations is null || state.Evaluations.Any(m => m is null)) throw error("evaluations", 0, "expected a list of evaluation records without nulls");
        if (state.GlobalStep < 0 || state.MaxSteps < 0 || state.SkippedSteps < 0)
        {
            throw error(null, 0, $"global_step ({state.GlobalStep}), max_steps ({state.MaxSteps}) and skipped_steps ({state.SkippedSteps}) must not be negative");
        }

        if (state.MaxSteps > 0 && state.GlobalStep > state.MaxSteps) throw error("global_step", 0, $"{state.GlobalStep} is past max_steps {state.MaxSteps}");
        return state;
    }
}

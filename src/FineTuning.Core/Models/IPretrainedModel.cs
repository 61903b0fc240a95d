namespace FineTuning.Models;

/// <summary>
/// A model that knows where its pretrained weights came from and what task it serves, so adapters saved over it
/// record <c>base_model_name_or_path</c> and <c>task_type</c> in <c>adapter_config.json</c> as PEFT does.
/// </summary>
public interface IPretrainedModel
{
    /// <summary>
    /// The folder or file the weights were loaded from (set by <c>HfCheckpoint.Load</c> and <c>Llama2CCheckpoint.Load</c>
    /// to the path they were given), or a name the user sets (e.g. <c>"HuggingFaceTB/SmolLM-135M"</c>); null when unknown.
    /// Transformers' <c>name_or_path</c>.
    /// </summary>
    string? NameOrPath { get; set; }

    /// <summary>PEFT's <c>task_type</c> for this kind of model (one of <see cref="Adapters.PeftTaskTypes"/>).</summary>
    string TaskType { get; }
}

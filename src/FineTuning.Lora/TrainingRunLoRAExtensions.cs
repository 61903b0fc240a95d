using System;
using FineTuning.Lora.Peft;
using FineTuning.Training;

namespace FineTuning;

/// <summary>Saving the adapter a run trained.</summary>
public static class TrainingRunLoRAExtensions
{
    /// <summary>
    /// Writes the run's LoRA adapter in PEFT's format (<c>adapter_config.json</c> + <c>adapter_model.safetensors</c>)
    /// to <paramref name="directory"/>; <c>PeftModel.from_pretrained</c> and <see cref="PeftAdapter.Load"/> read it.
    /// </summary>
    public static void SaveAdapter(this TrainingRun run, string directory, string adapterName = "default")
    {
        ArgumentNullException.ThrowIfNull(run);
        PeftAdapter.Save(run.Model, directory, adapterName);
    }
}

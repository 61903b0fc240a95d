using System;
using System.Linq;
using FineTuning.Adapters;
using FineTuning.Lora;
using FineTuning.Lora.Peft;
using FineTuning.Training;

namespace FineTuning;

/// <summary>Saving the adapter a run trained.</summary>
public static class TrainingRunLoRAExtensions
{
    /// <summary>
    /// Writes the run's LoRA adapter in PEFT's format (<c>adapter_config.json</c> + <c>adapter_model.safetensors</c>)
    /// to <paramref name="directory"/>; <c>PeftModel.from_pretrained</c> and <see cref="PeftAdapter.Load(TorchSharp.torch.nn.Module, string, string)"/> read it.
    /// A run without LoRA whose adapter is an <see cref="IPersistentAdapter"/> (IA3, or your own) is saved through
    /// <see cref="AdapterFiles.Save"/>. <c>base_model_name_or_path</c> and <c>task_type</c> come from the model
    /// (<see cref="Models.IPretrainedModel"/>).
    /// </summary>
    public static void SaveAdapter(this TrainingRun run, string directory, string adapterName = "default")
    {
        ArgumentNullException.ThrowIfNull(run);
        IPersistentAdapter? persistent = run.Adapters.OfType<IPersistentAdapter>().LastOrDefault();
        if (persistent is not null && !run.Adapters.OfType<LoRAAdapter>().Any())
        {
            AdapterFiles.Save(run.Model, directory, persistent);
            return;
        }
        PeftAdapter.Save(run.Model, directory, adapterName);
    }
}

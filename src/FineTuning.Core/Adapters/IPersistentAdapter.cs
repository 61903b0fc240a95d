using System.Collections.Generic;
using System.Text.Json.Nodes;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Adapters;

/// <summary>
/// An adapter that <see cref="AdapterFiles"/> can save in PEFT's layout (<c>adapter_config.json</c> +
/// <c>adapter_model.safetensors</c>) and re-create through its <see cref="IAdapterFormat"/>. Implement it next to
/// <see cref="IModelAdapter"/> and a third-party adapter gets its files and its reload for free.
/// </summary>
public interface IPersistentAdapter : IModelAdapter
{
    /// <summary>PEFT's <c>peft_type</c> of this adapter, e.g. <c>"IA3"</c>; upper-case, the key <see cref="AdapterFiles.Load"/> dispatches on.</summary>
    string PeftType { get; }

    /// <summary>
    /// This adapter's own fields of <c>adapter_config.json</c> (e.g. <c>target_modules</c>, <c>feedforward_modules</c>), as a
    /// new object. <see cref="AdapterFiles"/> adds <c>peft_type</c>, <c>base_model_name_or_path</c>, <c>task_type</c>,
    /// <c>inference_mode</c> and <c>revision</c> (the object must not contain them). Its <see cref="IAdapterFormat"/> reads it back.
    /// </summary>
    JsonObject ToConfig();

    /// <summary>
    /// The tensors to save from <paramref name="model"/> after <see cref="IModelAdapter.Apply"/>, keyed by module path and
    /// parameter name with the adapter name removed, as PEFT keys them (e.g. <c>model.layers.0.self_attn.k_proj.ia3_l</c>;
    /// <see cref="AdapterFiles"/> adds the <c>base_model.model.</c> prefix). The tensors are the live parameters: after a
    /// reload through the same format, the same keys must name the parameters to fill.
    /// </summary>
    IReadOnlyDictionary<string, Tensor> AdapterState(nn.Module model);
}

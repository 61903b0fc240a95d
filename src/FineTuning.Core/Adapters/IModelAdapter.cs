using System.Collections.Generic;
using TorchSharp;

namespace FineTuning.Adapters;

/// <summary>
/// The extension point through which add-on packages change the model before training (LoRA injects adapter
/// layers and freezes the base; quantization swaps frozen linear layers). Applied in the order the builder
/// received them, when the run starts, before parameters are converted to the run's dtype and device.
/// </summary>
public interface IModelAdapter
{
    /// <summary>Problems applying this adapter to <paramref name="model"/> would meet, one sentence each. Must not change the model.</summary>
    IEnumerable<string> Validate(torch.nn.Module model);

    /// <summary>Changes <paramref name="model"/> in place.</summary>
    void Apply(torch.nn.Module model);
}

using System;
using TorchSharp;

namespace FineTuning.Adapters;

/// <summary>
/// An adapter whose effect can be switched off temporarily, so that the model runs as its base (PEFT's
/// <c>disable_adapter()</c> context). Evaluation uses it to measure the base model (forgetting, prompting baseline)
/// without a second copy of the weights.
/// </summary>
public interface IDisableableAdapter : IModelAdapter
{
    /// <summary>
    /// Bypasses what this adapter added to <paramref name="model"/> until the returned token is disposed, which restores
    /// the previous state (tokens nest).
    /// </summary>
    IDisposable DisableAdapter(torch.nn.Module model);
}

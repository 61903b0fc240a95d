using System.Collections.Generic;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Training;

/// <summary>
/// An objective that needs one look at the model and the data before the first step, for example to cache the
/// reference policy's log-probabilities in preference tuning. The trainer calls <see cref="Prepare"/> after adapters
/// are applied and parameters converted, before step 1 (also when resuming, with <c>resuming = true</c>).
/// </summary>
/// <typeparam name="TExample">The example type.</typeparam>
public interface IPreparingObjective<TExample> : ITrainingObjective<TExample>
{
    /// <summary>Prepares for training on <paramref name="data"/>; may run the model without gradients.</summary>
    void Prepare(nn.Module model, IReadOnlyList<TExample> data, Device device, bool resuming);
}

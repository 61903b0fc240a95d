using System.Collections.Generic;

namespace FineTuning.Training;

/// <summary>
/// An optimizer choice (a strategy object such as <see cref="AdamWOptimizer"/>). It validates its own settings
/// and creates the per-run state that updates the trainable parameters.
/// </summary>
public interface IOptimizer
{
    /// <summary>Problems with this optimizer's settings, one sentence each (empty when valid).</summary>
    IEnumerable<string> Validate();

    /// <summary>Creates the state (moments, master weights) for these parameters. The caller disposes it.</summary>
    IOptimizerState Create(IReadOnlyList<TrainableParameter> parameters);
}

using System;

namespace FineTuning.Training;

/// <summary>The per-run state of an optimizer; owns its tensors.</summary>
public interface IOptimizerState : IDisposable
{
    /// <summary>Applies one update from the parameters' current gradients at this learning rate.</summary>
    void Step(double learningRate);
}

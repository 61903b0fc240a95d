using System;
using System.Collections.Generic;
using static TorchSharp.torch;

namespace FineTuning.Training;

/// <summary>The per-run state of an optimizer; owns its tensors.</summary>
public interface IOptimizerState : IDisposable
{
    /// <summary>Applies one update from the parameters' current gradients at this learning rate.</summary>
    void Step(double learningRate);

    /// <summary>
    /// The state to checkpoint, by name (e.g. <c>model.fc1.weight.exp_avg</c>). The tensors are the live state: the
    /// caller copies them and must not change them.
    /// </summary>
    IReadOnlyDictionary<string, Tensor> StateDict();

    /// <summary>
    /// Restores state written by <see cref="StateDict"/>. Implementations check every entry (names, shapes, dtypes, the
    /// step count) before changing anything and throw <see cref="CheckpointException"/> when one does not fit, so a
    /// failed load leaves the state as it was.
    /// </summary>
    void LoadStateDict(IReadOnlyDictionary<string, Tensor> state);
}

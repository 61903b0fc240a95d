using System.Collections.Generic;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Training;

/// <summary>
/// What the trainer minimises: turns a micro-batch of examples into a summed loss and says how many
/// targets (tokens, labels, values) that sum covers. The trainer divides by the number of targets in
/// the whole optimizer step, so gradient accumulation gives the same gradient as one large batch even
/// when micro-batches hold different numbers of target tokens.
/// </summary>
/// <typeparam name="TExample">One training example as the objective understands it.</typeparam>
public interface ITrainingObjective<TExample>
{
    /// <summary>Number of targets the loss of <paramref name="examples"/> sums over. Must not touch tensors.</summary>
    long CountTargets(IReadOnlyList<TExample> examples);

    /// <summary>
    /// Collates <paramref name="examples"/> onto <paramref name="device"/>, runs <paramref name="model"/> and
    /// returns the loss summed (not averaged) over every target, as a 0-dim floating tensor attached to the graph.
    /// Called inside the trainer's per-step dispose scope.
    /// </summary>
    Tensor SummedLoss(nn.Module model, IReadOnlyList<TExample> examples, Device device);
}

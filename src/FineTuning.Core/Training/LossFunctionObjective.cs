using System;
using System.Collections.Generic;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Training;

/// <summary>An objective made of two functions, for custom tasks.</summary>
/// <typeparam name="TExample">The example type.</typeparam>
public sealed class LossFunctionObjective<TExample> : ITrainingObjective<TExample>
{
    private readonly Func<nn.Module, IReadOnlyList<TExample>, Device, Tensor> _summedLoss;
    private readonly Func<IReadOnlyList<TExample>, long> _countTargets;

    /// <summary>Creates the objective.</summary>
    /// <param name="summedLoss">Returns the loss summed (not averaged) over the examples' targets.</param>
    /// <param name="countTargets">How many targets the sum covers; default one per example.</param>
    public LossFunctionObjective(
        Func<nn.Module, IReadOnlyList<TExample>, Device, Tensor> summedLoss,
        Func<IReadOnlyList<TExample>, long>? countTargets = null)
    {
        ArgumentNullException.ThrowIfNull(summedLoss);
        _summedLoss = summedLoss;
        _countTargets = countTargets ?? (examples => examples.Count);
    }

    /// <inheritdoc />
    public long CountTargets(IReadOnlyList<TExample> examples) => _countTargets(examples);

    /// <inheritdoc />
    public Tensor SummedLoss(nn.Module model, IReadOnlyList<TExample> examples, Device device) => _summedLoss(model, examples, device);
}

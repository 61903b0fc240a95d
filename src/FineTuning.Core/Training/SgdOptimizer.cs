using System;
using System.Collections.Generic;

namespace FineTuning.Training;

/// <summary>
/// Stochastic gradient descent with optional momentum and (coupled, L2) weight decay, following
/// <c>torch.optim.SGD</c>'s update rule. Weight decay skips 1-dimensional parameters unless
/// <see cref="DecayNormsAndBiases"/> is set.
/// </summary>
/// <param name="Momentum">Momentum factor. Default 0.</param>
/// <param name="WeightDecay">L2 penalty added to the gradient. Default 0.</param>
/// <param name="Nesterov">Use Nesterov momentum (needs Momentum &gt; 0). Default false.</param>
/// <param name="DecayNormsAndBiases">Also decay 1-dimensional parameters. Default false.</param>
public sealed record SgdOptimizer(
    double Momentum = 0.0,
    double WeightDecay = 0.0,
    bool Nesterov = false,
    bool DecayNormsAndBiases = false) : IOptimizer
{
    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (!(Momentum >= 0 && Momentum < 1)) yield return $"SGD Momentum must be in [0, 1) (was {Momentum}).";
        if (!(WeightDecay >= 0) || double.IsInfinity(WeightDecay)) yield return $"SGD WeightDecay must be a finite number >= 0 (was {WeightDecay}).";
        if (Nesterov && Momentum == 0) yield return "SGD Nesterov needs Momentum > 0.";
    }

    /// <inheritdoc />
    public IOptimizerState Create(IReadOnlyList<TrainableParameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        return new SgdState(this, parameters);
    }
}

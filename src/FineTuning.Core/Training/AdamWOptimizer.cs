using System;
using System.Collections.Generic;

namespace FineTuning.Training;

/// <summary>
/// AdamW (Loshchilov and Hutter, "Decoupled Weight Decay Regularization", 2019) with PyTorch's update order
/// and bias correction, so results match <c>torch.optim.AdamW</c>. Weight decay applies only to parameters with at
/// least 2 dimensions unless <see cref="DecayNormsAndBiases"/> is set. Moments are kept in fp32; bf16 parameters
/// get fp32 master weights.
/// </summary>
/// <param name="Beta1">Decay of the first moment. Default 0.9.</param>
/// <param name="Beta2">Decay of the second moment. Default 0.999.</param>
/// <param name="Epsilon">Added to the denominator. Default 1e-8.</param>
/// <param name="WeightDecay">Decoupled weight decay. Default 0 (as Hugging Face's Trainer; PyTorch's own default is 0.01).</param>
/// <param name="DecayNormsAndBiases">Also decay 1-dimensional parameters. Default false.</param>
public sealed record AdamWOptimizer(
    double Beta1 = 0.9,
    double Beta2 = 0.999,
    double Epsilon = 1e-8,
    double WeightDecay = 0.0,
    bool DecayNormsAndBiases = false) : IOptimizer
{
    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (!(Beta1 >= 0 && Beta1 < 1)) yield return $"AdamW Beta1 must be in [0, 1) (was {Beta1}).";
        if (!(Beta2 >= 0 && Beta2 < 1)) yield return $"AdamW Beta2 must be in [0, 1) (was {Beta2}).";
        if (!(Epsilon > 0)) yield return $"AdamW Epsilon must be positive (was {Epsilon}).";
        if (!(WeightDecay >= 0) || double.IsInfinity(WeightDecay)) yield return $"AdamW WeightDecay must be a finite number >= 0 (was {WeightDecay}).";
    }

    /// <inheritdoc />
    public IOptimizerState Create(IReadOnlyList<TrainableParameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        return new AdamWState(this, parameters);
    }
}

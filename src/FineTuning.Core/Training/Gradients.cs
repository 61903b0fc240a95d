using System;
using System.Collections.Generic;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Training;

/// <summary>Global-norm gradient clipping with PyTorch's <c>clip_grad_norm_</c> formula, computed in fp32.</summary>
internal static class Gradients
{
    /// <summary>Returns the global L2 norm before clipping; scales gradients by <c>max / (norm + 1e-6)</c> when it exceeds <paramref name="maxNorm"/>.</summary>
    public static double ClipGlobalNorm(IReadOnlyList<TrainableParameter> parameters, double? maxNorm)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var grads = new List<Tensor>(parameters.Count);
        double sumOfSquares = 0;
        foreach (TrainableParameter p in parameters)
        {
            Tensor? g = p.Parameter.grad;
            if (g is null) continue;
            grads.Add(g);
            sumOfSquares += OptimizerKernels.Applies(g)
                ? OptimizerKernels.SumOfSquares(g) // one C# pass, in float64 (OptimizerKernels)
                : g.to(MasterWeights.StateType(g)).square().sum().to(ScalarType.Float64).item<double>();
        }
        double norm = Math.Sqrt(sumOfSquares);
        if (maxNorm is { } max && double.IsFinite(norm) && norm > max)
        {
            using Scalar coefficient = max / (norm + 1e-6);
            foreach (Tensor g in grads) g.mul_(coefficient);
        }
        return norm;
    }
}

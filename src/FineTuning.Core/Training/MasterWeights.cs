using System;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuning.Training;

/// <summary>
/// An fp32 copy of a low-precision (bf16) parameter. Updates accumulate here and are rounded into the parameter
/// after each step, so small updates are not lost to bf16's 8-bit mantissa.
/// </summary>
internal sealed class MasterWeights : IDisposable
{
    private readonly Parameter _parameter;

    private MasterWeights(Parameter parameter)
    {
        _parameter = parameter;
        Weights = parameter.detach().to(ScalarType.Float32, copy: true).DetachFromDisposeScope();
    }

    public Tensor Weights { get; }

    /// <summary>Master weights for a low-precision <paramref name="p"/>; null for fp32 and fp64 parameters, which are updated in place.</summary>
    public static MasterWeights? For(Parameter p) => p.dtype is ScalarType.Float32 or ScalarType.Float64 ? null : new MasterWeights(p);

    /// <summary>The dtype of optimizer state and update arithmetic for <paramref name="p"/>: fp64 for fp64 parameters, else fp32.</summary>
    public static ScalarType StateType(Tensor p) => p.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;

    public void CopyToParameter() => _parameter.copy_(Weights);

    public void Dispose() => Weights.Dispose();
}

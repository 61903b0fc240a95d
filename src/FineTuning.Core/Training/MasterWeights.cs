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

    /// <summary>Master weights for <paramref name="p"/> when it is not fp32, else null.</summary>
    public static MasterWeights? For(Parameter p) => p.dtype == ScalarType.Float32 ? null : new MasterWeights(p);

    public void CopyToParameter() => _parameter.copy_(Weights);

    public void Dispose() => Weights.Dispose();
}

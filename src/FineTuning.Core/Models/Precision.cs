using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Models;

/// <summary>Dtype rules shared by the models, losses and generation.</summary>
internal static class Precision
{
    /// <summary>
    /// <paramref name="t"/> in float32, or unchanged when it is float64: reductions that HF runs in float32 for low-precision
    /// models (RMS norm, cross-entropy, sampling) must not round a float64 model's values down to float32.
    /// </summary>
    public static Tensor AtLeastFloat32(this Tensor t) => t.dtype == ScalarType.Float64 ? t.alias() : t.to_type(ScalarType.Float32);
}

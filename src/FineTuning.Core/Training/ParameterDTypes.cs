using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Training;

/// <summary>Resolves <see cref="TrainingOptions.DTypePolicy"/> to the dtype the trainer converts the model to.</summary>
internal static class ParameterDTypes
{
    /// <summary>The parameter dtype of a run on <paramref name="device"/>.</summary>
    public static ScalarType Resolve(TrainingOptions options, DeviceType device) =>
        options.DTypePolicy == DTypePolicy.Auto ? Auto(device, options.NativeBFloat16()) : options.ParameterDType;

    /// <summary>
    /// The <see cref="DTypePolicy.Auto"/> rule: bf16 on a CPU with native bf16 matrix instructions (avx512_bf16 or AMX),
    /// where it halves weight and activation memory (docs/training.md has the step times measured per CPU kind); fp32
    /// on a CPU without them (emulated bf16 is 12-60x slower), on one that cannot be told, and on CUDA, whose bf16
    /// support (compute capability 8.0+) TorchSharp 0.107 cannot query.
    /// </summary>
    internal static ScalarType Auto(DeviceType device, bool? nativeBFloat16) =>
        device == DeviceType.CPU && nativeBFloat16 == true ? ScalarType.BFloat16 : ScalarType.Float32;
}

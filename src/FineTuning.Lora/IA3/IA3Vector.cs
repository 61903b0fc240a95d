using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuning.Lora.IA3;

/// <summary>
/// Holds one (IA)³ vector under the adapter name, so the live state-dict key is PEFT's <c>ia3_l.default</c> (a
/// <c>ParameterDict</c> there); the saved key drops the adapter name: <c>ia3_l</c>.
/// </summary>
internal sealed class IA3Vector : nn.Module
{
#pragma warning disable IDE1006, SA1300, CA1707 // state-dict name: the adapter name PEFT uses
    private readonly Parameter @default;
#pragma warning restore IDE1006, SA1300, CA1707

    public IA3Vector(long[] shape, ScalarType dtype, Device device)
        : base(nameof(IA3Vector))
    {
        @default = new Parameter(ones(shape, dtype: dtype, device: device).DetachFromDisposeScope());
        RegisterComponents();
    }

    /// <summary>The vector (read through the field: <c>module.to()</c> replaces parameters and updates fields).</summary>
    public Parameter Value => @default;
}

using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuning.Lora;

/// <summary>
/// DoRA's learnable magnitude vector m ([out]), held in a module so that its state-dict key is PEFT's
/// <c>lora_magnitude_vector.&lt;adapter&gt;.weight</c>.
/// </summary>
internal sealed class DoRAMagnitude : nn.Module
{
#pragma warning disable IDE1006, SA1300 // state-dict name
    private readonly Parameter weight;
#pragma warning restore IDE1006, SA1300

    public DoRAMagnitude(Tensor initial)
        : base(nameof(DoRAMagnitude))
    {
        weight = new Parameter(initial.detach().clone().DetachFromDisposeScope());
        RegisterComponents();
    }

    public Parameter Weight => weight;
}

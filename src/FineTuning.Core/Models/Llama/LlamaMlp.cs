using FineTuning.Models.Fused;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Models.Llama;

/// <summary>SwiGLU feed-forward block (Shazeer 2020): <c>down_proj(silu(gate_proj(x)) * up_proj(x))</c>.</summary>
internal sealed class LlamaMlp : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // field names are state-dict keys
    // Not readonly and typed as the base module: an adapter may swap in a wrapper (TorchSharp's Linear is sealed).
    private nn.Module<Tensor, Tensor> gate_proj;
    private nn.Module<Tensor, Tensor> up_proj;
    private nn.Module<Tensor, Tensor> down_proj;
#pragma warning restore IDE1006

    internal LlamaMlp(LlamaConfig config, Device? device, ScalarType? dtype)
        : base(nameof(LlamaMlp))
    {
        gate_proj = nn.Linear(config.HiddenSize, config.IntermediateSize, hasBias: false, device: device, dtype: dtype);
        up_proj = nn.Linear(config.HiddenSize, config.IntermediateSize, hasBias: false, device: device, dtype: dtype);
        down_proj = nn.Linear(config.IntermediateSize, config.HiddenSize, hasBias: false, device: device, dtype: dtype);
        RegisterComponents();
    }

    /// <summary>Gate with <see cref="SwiGluFunction"/> (silu recomputed in backward, default) or with ordinary ops.</summary>
    internal bool Fused { get; set; } = true;

    /// <summary>
    /// Let the fused node use its float32 C# loops where they apply (default); false keeps libtorch's ops inside it
    /// (the benchmark's before/after switch).
    /// </summary>
    internal bool Kernel { get; set; } = true;

    public override Tensor forward(Tensor input)
    {
        using var scope = torch.NewDisposeScope();
        Tensor gate = gate_proj.call(input);
        Tensor up = up_proj.call(input);
        Tensor hidden = Fused ? SwiGluFunction.Apply(gate, up, Kernel) : nn.functional.silu(gate) * up;
        return down_proj.call(hidden).MoveToOuterDisposeScope();
    }
}

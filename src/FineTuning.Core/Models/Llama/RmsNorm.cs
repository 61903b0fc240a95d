using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuning.Models.Llama;

/// <summary>
/// Root-mean-square layer norm as in LLaMA (Zhang and Sennrich 2019): <c>weight * x / sqrt(mean(x^2) + eps)</c>,
/// computed in float32 like Hugging Face's <c>LlamaRMSNorm</c>. State-dict key: <c>weight</c>.
/// </summary>
internal sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // field names are state-dict keys
    private readonly Parameter weight;
#pragma warning restore IDE1006
    private readonly double eps;

    internal RmsNorm(long size, double eps, Device? device, ScalarType? dtype)
        : base(nameof(RmsNorm))
    {
        this.eps = eps;
        weight = new Parameter(torch.ones(size, dtype: dtype, device: device));
        RegisterComponents();
    }

    internal Parameter Weight => weight;

    /// <summary>Normalise float32 rows with the C# kernel (<see cref="Fused.RmsNormFunction"/>, the default) or with ordinary ops.</summary>
    internal bool Fused { get; set; } = true;

    public override Tensor forward(Tensor input)
    {
        if (Fused && Models.Fused.RmsNormFunction.Applies(input, weight)) return Models.Fused.RmsNormFunction.Apply(input, weight, eps);
        using var scope = torch.NewDisposeScope();
        Tensor x = input.AtLeastFloat32();
        Tensor variance;
        // The squares are an input-sized temporary: freed at once, not at the end of the scope.
        using (Tensor squares = x.square()) variance = squares.mean(new long[] { -1 }, keepdim: true);
        Tensor normed = x * torch.rsqrt(variance.add_(eps));
        return (weight * normed.to_type(input.dtype)).MoveToOuterDisposeScope();
    }
}

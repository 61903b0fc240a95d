using TorchSharp;

namespace FineTuning.Models.Fused;

/// <summary>Raw addresses of tensor memory for the C# kernels (RMSNorm, rotary embedding, 4-bit dequantization).</summary>
internal static class TensorMemory
{
    /// <summary>
    /// The address of the first element of <paramref name="tensor"/>, which must be contiguous (its bytes are then one
    /// span of native memory, which needs no pinning and stays put while the tensor lives).
    /// </summary>
    internal static unsafe nint Address(torch.Tensor tensor)
    {
        fixed (byte* p = tensor.bytes) return (nint)p;
    }
}

namespace FineTuning.Quantization;

/// <summary>How weights are dequantized (both give identical values).</summary>
internal enum DequantizeMethod
{
    /// <summary>A composition of TorchSharp ops (works on any device).</summary>
    Composed,

    /// <summary>The hand-written SIMD kernel over the packed bytes (CPU, float32 / bfloat16 output).</summary>
    Kernel,
}

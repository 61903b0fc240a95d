using System;
using FineTuning.Adapters;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuning.Quantization;

/// <summary>
/// A frozen linear layer <c>y = x W^T + b</c> whose weight is block-quantized (bitsandbytes' <c>Linear4bit</c>).
/// Forward and backward each dequantize W into a temporary dense copy for one GEMM (very large weights chunk by chunk of
/// output rows) and keep nothing dense between them; the input gets
/// its gradient, W never has one, and the optional bias is a frozen parameter (<c>bias</c> in the state dict).
/// The layer computes in <see cref="QuantizedModule.ComputeDType"/>, which follows <c>module.to(dtype)</c>; an input of another
/// dtype is refused (as <c>Linear</c> refuses it). Implements <see cref="IQuantizedLinear"/> so LoRA can wrap it (QLoRA)
/// and record its settings next to a saved adapter.
/// </summary>
public sealed class QuantizedLinear : QuantizedModule, IQuantizedLinear, IRequantizableLinear
{
#pragma warning disable IDE1006, SA1300 // field name is the state-dict key
    private Parameter? bias;
#pragma warning restore IDE1006, SA1300

    /// <summary>Takes ownership of <paramref name="weight"/>; copies <paramref name="bias"/> ([out], or null).</summary>
    /// <exception cref="QuantizationException">The bias does not fit or the compute dtype is not floating-point.</exception>
    public QuantizedLinear(QuantizedWeight weight, Tensor? bias, ScalarType computeDType)
        : base(nameof(QuantizedLinear), weight, computeDType)
    {
        if (bias is not null && (bias.dim() != 1 || bias.shape[0] != weight.Rows))
            throw new QuantizationException($"The bias must be [{weight.Rows}]; it is [{string.Join(", ", bias.shape)}].");
        if (bias is not null)
        {
            using var noGrad = no_grad();
            this.bias = new Parameter(bias.detach().to(computeDType).clone().DetachFromDisposeScope(), requires_grad: false);
        }
        RegisterComponents();
    }

    /// <summary>Quantizes <paramref name="linear"/>'s weight (the linear layer is left unchanged; dispose it if no longer needed).</summary>
    public static QuantizedLinear FromLinear(Linear linear, QuantizationType type, int blockSize = 64, bool doubleQuantization = false,
        ScalarType? computeDType = null)
    {
        ArgumentNullException.ThrowIfNull(linear);
        ArgumentNullException.ThrowIfNull(type);
        Tensor w = linear.weight!;
        BlockQuantizer.CheckWeight(w, blockSize, "The linear layer's weight");
        if (linear.bias is not null && linear.bias.dtype != w.dtype)
            throw new QuantizationException($"The linear layer mixes dtypes: weight {w.dtype}, bias {linear.bias.dtype}.");
        QuantizedWeight q = QuantizedWeight.Quantize(w, type, blockSize, doubleQuantization);
        return new QuantizedLinear(q, linear.bias, computeDType ?? w.dtype);
    }

    /// <inheritdoc />
    public long InFeatures => Weight.Columns;

    /// <inheritdoc />
    public long OutFeatures => Weight.Rows;

    /// <summary>The frozen bias, or null.</summary>
    public Tensor? Bias => bias;

    internal DequantizeMethod Method { get; set; } = DequantizeMethod.Kernel;

    /// <summary>
    /// Most elements of one dequantized chunk of rows (default 2^26: 256 MiB in float32, so every projection of a 7-8B
    /// LLaMA dequantizes whole, while a quantized 128k-vocabulary head is split). Smaller chunks cut the transient dense
    /// copy but split the product into narrow GEMMs: chunks of 2^20 made a [1024 x 2816] layer's forward 1.6x slower
    /// (docs/benchmarks/qlora-memory.md).
    /// </summary>
    internal long ChunkElements { get; set; } = 1L << 26;

    /// <inheritdoc />
    public Tensor DenseWeight(ScalarType dtype) => Weight.Dequantize(dtype);

    /// <inheritdoc />
    /// <remarks>
    /// Dequantized into this thread's scratch buffer, the one the layer's own products use: the returned tensor is a
    /// view of it, valid until the next dequantization on this thread (of any quantized layer).
    /// </remarks>
    public Tensor DenseWeightRows(long start, long count, ScalarType dtype)
    {
        CheckRows(start, count, dtype);
        return QuantizedMatmulFunction.Dense(Weight, start, count, dtype, Method);
    }

    /// <inheritdoc />
    /// <exception cref="QuantizationException">The weight is not [OutFeatures, InFeatures] or not floating-point.</exception>
    public void Requantize(Tensor weight)
    {
        ArgumentNullException.ThrowIfNull(weight);
        if (weight.dim() != 2 || weight.shape[0] != OutFeatures || weight.shape[1] != InFeatures)
            throw new QuantizationException($"A requantized weight must be [{OutFeatures}, {InFeatures}]; it is [{string.Join(", ", weight.shape)}].");
        QuantizedWeight current = Weight;
        BlockQuantizer.CheckWeight(weight, current.BlockSize, "The requantized weight");
        StoredWeight = QuantizedWeight.Quantize(weight.to(current.Packed.device), current.Type, current.BlockSize, current.IsDoubleQuantized);
        current.Dispose();
    }

    /// <inheritdoc />
    public Tensor? DenseBias(ScalarType dtype) => bias?.detach().to(dtype).clone();

    /// <inheritdoc />
    /// <remarks>True: the forward returns the new tensor its product wrote (not a view), and its backward saves no tensor.</remarks>
    public bool OutputWritableInPlace => true;

    /// <inheritdoc />
    /// <exception cref="QuantizationException">The input's last dimension is not InFeatures or its dtype is not <see cref="QuantizedModule.ComputeDType"/>.</exception>
    public override Tensor forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        // Checked here: an exception inside the autograd node's backward would end the process.
        if (input.dim() < 1 || input.shape[^1] != InFeatures)
            throw new QuantizationException($"The input's last dimension must be {InFeatures}; its shape is [{string.Join(", ", input.shape)}].");
        if (input.dtype != ComputeDType)
            throw new QuantizationException(
                $"Mixed dtypes: the input is {input.dtype} but the quantized layer computes in {ComputeDType}; convert the input or the model (module.to(dtype)).");
        if (input.device_type != Weight.Packed.device_type)
            throw new QuantizationException($"The input is on {input.device} but the quantized weight is on {Weight.Packed.device}.");
        return QuantizedMatmulFunction.apply(input, new QuantizedMatmulFunction.Frozen(Weight, bias, ComputeDType, Method, Math.Clamp(ChunkElements / InFeatures, 1, OutFeatures)));
    }
}

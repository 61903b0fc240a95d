using System;
using System.Text.Json.Nodes;
using FineTuning.Adapters;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Quantization;

/// <summary>
/// What the frozen quantized modules (<see cref="QuantizedLinear"/>, <see cref="QuantizedEmbedding"/>) share: the
/// quantized weight they own, the dtype they compute in (it follows <c>module.to(dtype)</c>; the codes and scales never
/// change), and their settings as a <c>quantization_config</c> for adapter files (<see cref="IQuantizedModule"/>).
/// </summary>
public abstract class QuantizedModule : nn.Module<Tensor, Tensor>, IQuantizedModule
{
    private protected QuantizedModule(string name, QuantizedWeight weight, ScalarType computeDType)
        : base(name)
    {
        ArgumentNullException.ThrowIfNull(weight);
        if (!is_floating_point(computeDType)) throw new QuantizationException($"The compute dtype must be floating-point, not {computeDType}.");
        StoredWeight = weight;
        ComputeDType = computeDType;
    }

    /// <summary>The quantized weight (owned by this module).</summary>
    public QuantizedWeight Weight => StoredWeight;

    /// <summary>The dtype the weight is dequantized to and the module computes in.</summary>
    public ScalarType ComputeDType { get; private set; }

    /// <summary>The owned weight; <see cref="QuantizedLinear.Requantize"/> replaces it.</summary>
    private protected QuantizedWeight StoredWeight { get; set; }

    /// <summary>Refuses rows [start, start + count) that are not a non-empty range of the weight, or a non-floating <paramref name="dtype"/> (the checks of <c>DenseWeightRows</c>).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The rows are not a non-empty range of the weight's rows.</exception>
    /// <exception cref="QuantizationException"><paramref name="dtype"/> is not a floating-point dtype.</exception>
    private protected void CheckRows(long start, long count, ScalarType dtype)
    {
        if (start < 0 || count < 1 || start + count > StoredWeight.Rows)
            throw new ArgumentOutOfRangeException(nameof(start), $"Rows [{start}, {start + count}) are not a non-empty range inside [0, {StoredWeight.Rows}).");
        if (!is_floating_point(dtype)) throw new QuantizationException($"Weights dequantize to a floating-point dtype, not {dtype}.");
    }

    /// <inheritdoc />
    public JsonObject QuantizationConfig() => Config.ToJson();

    /// <inheritdoc />
    public string? Mismatch(JsonObject config)
    {
        ArgumentNullException.ThrowIfNull(config);
        QuantizationConfigJson? recorded = QuantizationConfigJson.Parse(config, out string? problem);
        if (recorded is null) return $"the recorded quantization config cannot be used: {problem}";
        string? difference = recorded.StorageDifference(Config);
        return difference is null ? null : $"it is quantized with {difference} (recorded)";
    }

    private QuantizationConfigJson Config => new(StoredWeight.Type, StoredWeight.BlockSize, StoredWeight.IsDoubleQuantized, ComputeDType);

    /// <summary>Converting the module to a floating dtype changes the compute dtype (and any dense tensor it holds); the codes and scales never change.</summary>
    protected override nn.Module _to(ScalarType dtype, bool non_blocking = false)
    {
        base._to(dtype, non_blocking);
        if (is_floating_point(dtype)) ComputeDType = dtype;
        return this;
    }

    /// <inheritdoc cref="_to(ScalarType, bool)" />
    protected override nn.Module _to(Device device, ScalarType dtype, bool non_blocking = false)
    {
        base._to(device, dtype, non_blocking);
        if (is_floating_point(dtype)) ComputeDType = dtype;
        return this;
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing) StoredWeight.Dispose();
        base.Dispose(disposing);
    }
}

using System;
using System.Collections.Generic;
using System.Linq;
using FineTuning.Adapters;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuning.Lora;

/// <summary>
/// A frozen linear layer plus low-rank adapters: <c>y = base_layer(x) + scaling * lora_B(lora_A(dropout(x)))</c>.
/// Field names give PEFT's state-dict keys (<c>base_layer.weight</c>, <c>lora_A.default.weight</c>,
/// <c>lora_B.default.weight</c>). Several named adapters can be attached; one is active at a time.
/// </summary>
public sealed partial class LoRALinear : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006, SA1300 // field names are state-dict keys (PEFT's)
    private readonly nn.Module<Tensor, Tensor> base_layer;

    /// <summary>The base layer's child name (PEFT's).</summary>
    internal const string BaseLayerName = nameof(base_layer);
    private readonly NamedModules<Linear> lora_A = new();
    private readonly NamedModules<Linear> lora_B = new();
    private readonly NamedModules<Dropout> lora_dropout = new();
    private readonly NamedModules<DoRAMagnitude> lora_magnitude_vector = new();
#pragma warning restore IDE1006, SA1300
    private readonly Dictionary<string, double> _scaling = new(StringComparer.Ordinal);
    private readonly List<string> _merged = new();
    private readonly Dictionary<string, LoRAOptions> _options = new(StringComparer.Ordinal);
    private readonly HashSet<string> _dora = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Tensor> _mergedNorms = new(StringComparer.Ordinal);
    private int _disabled;

    /// <summary>Wraps <paramref name="baseLayer"/> (which is frozen) without any adapter yet.</summary>
    public LoRALinear(Linear baseLayer)
        : this((nn.Module<Tensor, Tensor>)baseLayer)
    {
    }

    /// <summary>
    /// Wraps a frozen linear map stored in another form (an <see cref="IFrozenLinear"/> such as a 4-bit quantized
    /// layer: QLoRA). Such a base cannot be merged into.
    /// </summary>
    public LoRALinear(IFrozenLinear baseLayer)
        : this(baseLayer as nn.Module<Tensor, Tensor> ?? throw new ArgumentException("An IFrozenLinear base must be a Module<Tensor, Tensor>.", nameof(baseLayer)))
    {
    }

    private LoRALinear(nn.Module<Tensor, Tensor> baseLayer)
        : base(nameof(LoRALinear))
    {
        ArgumentNullException.ThrowIfNull(baseLayer);
        base_layer = baseLayer;
        foreach (Parameter p in base_layer.parameters()) p.requires_grad = false;
        RegisterComponents();
    }

    /// <summary>The wrapped layer: a <see cref="Linear"/> or an <see cref="IFrozenLinear"/>.</summary>
    public nn.Module<Tensor, Tensor> BaseLayer => base_layer;

    /// <summary>Input features.</summary>
    public long InFeatures => base_layer is Linear l ? l.weight!.shape[1] : ((IFrozenLinear)base_layer).InFeatures;

    /// <summary>Output features.</summary>
    public long OutFeatures => base_layer is Linear l ? l.weight!.shape[0] : ((IFrozenLinear)base_layer).OutFeatures;

    /// <summary>True when the base is a plain <see cref="Linear"/> (so adapters can be merged into its weight).</summary>
    public bool CanMerge => base_layer is Linear;

    /// <summary>Names of the attached adapters.</summary>
    public IReadOnlyCollection<string> AdapterNames => _scaling.Keys;

    /// <summary>The adapter used by <see cref="forward"/>, or null for none.</summary>
    public string? ActiveAdapter { get; private set; }

    /// <summary>Adapters currently merged into the base weight.</summary>
    public IReadOnlyList<string> MergedAdapters => _merged;

    /// <summary>True while a disable scope is open (LoRA.DisableAdapters).</summary>
    public bool AdaptersDisabled => _disabled > 0;

    /// <summary>The A matrix ([r, in]) of an adapter.</summary>
    public Parameter A(string adapter) => lora_A[adapter].weight!;

    /// <summary>The B matrix ([out, r]) of an adapter.</summary>
    public Parameter B(string adapter) => lora_B[adapter].weight!;

    /// <summary>True when the adapter is DoRA (has a magnitude vector).</summary>
    public bool IsDoRA(string adapter) => _dora.Contains(adapter);

    /// <summary>DoRA's magnitude vector m ([out]) of an adapter.</summary>
    public Parameter Magnitude(string adapter) => _dora.Contains(adapter)
        ? lora_magnitude_vector[adapter].Weight
        : throw new InvalidOperationException($"Adapter \"{adapter}\" is not a DoRA adapter.");

    /// <summary>The scale of an adapter's update.</summary>
    public double Scaling(string adapter) => _scaling[adapter];

    /// <summary>
    /// Use the fused autograd kernel (<c>FusedLoRAFunction</c>) when no dropout is active. Default false: its gradients
    /// equal the plain composition's (tests) but it measured no faster (docs/benchmarks/lora-fused.md).
    /// </summary>
    public bool UseFusedKernel { get; set; }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        string? active = ActiveAdapter;
        if (active is null || _disabled > 0 || _merged.Count > 0) return base_layer.call(input);
        if (UseFusedKernel && base_layer is Linear linear && !_dora.Contains(active) && (!training || lora_dropout[active].p == 0))
        {
            return FusedLoRAFunction.apply(input, A(active), B(active),
                new FusedLoRAFunction.Frozen(linear.weight!, linear.bias, _scaling[active]));
        }
        if (!_dora.Contains(active) && input.dim() >= 2) return AddmmForward(active, input);
        Tensor result = base_layer.call(input);
        using Tensor dropped = lora_dropout[active].call(input);
        using Tensor down = lora_A[active].call(dropped);
        using Tensor up = lora_B[active].call(down);
        if (_dora.Contains(active)) return DoRAForward(active, dropped, result, up);
        using (result) return result.add(up, alpha: _scaling[active]);
    }

    /// <summary>
    /// <c>base(x) + scaling * (dropout(x) A^T) B^T</c> with the update accumulated into the base output by one
    /// <c>addmm</c> (the scale folded into the product), on 2-D views of the activations: no [tokens, out]
    /// temporary for the update, no separate scale and add passes, in forward or in backward. Memory freed at once is
    /// reused at once by the native heap (docs/benchmarks/hot-paths.md).
    /// </summary>
    private Tensor AddmmForward(string active, Tensor input)
    {
        long inFeatures = input.shape[^1];
        long[] outShape = input.shape.ToArray();
        outShape[^1] = OutFeatures;
        using Tensor x2 = input.reshape(-1, inFeatures);
        Tensor down;
        using (Tensor dropped = lora_dropout[active].call(x2)) down = lora_A[active].call(dropped);
        using (down)
        using (Tensor bt = B(active).t())
        {
            Tensor result = base_layer.call(x2);
            if (result.dtype != down.dtype)
            {
                // A base that computes in another dtype than the adapter's (e.g. a quantized base): add with promotion.
                using (result)
                using (Tensor up = down.matmul(bt))
                using (Tensor mixed = result.add(up, alpha: _scaling[active]))
                {
                    return mixed.view(outShape);
                }
            }

            if (base_layer is Linear || (base_layer is IFrozenLinear frozen && frozen.OutputWritableInPlace))
            {
                // The output of the base product itself (2-D input, so not a view; a frozen base that says so): safe
                // to accumulate into in place, since neither the product nor anything else saved it for backward.
                using (result) return result.addmm_(down, bt, beta: 1, alpha: (float)_scaling[active]).view(outShape);
            }

            // Out of place: another frozen base's output may be a view returned by a custom autograd function, which
            // autograd forbids modifying in place.
            using (result)
            using (Tensor sum = torch.addmm(result, down, bt, beta: 1, alpha: (float)_scaling[active]))
            {
                return sum.view(outShape);
            }
        }
    }

    private Tensor DoRAForward(string active, Tensor dropped, Tensor result, Tensor up)
    {
        using var scope = NewDisposeScope();
        Tensor dense = DenseWeight(result.dtype);
        Tensor norm = DoRAMath.WeightNorm(dense, A(active), B(active), _scaling[active]);
        // PEFT: with dropout active the base part of the DoRA term uses the dropped input.
        bool dropping = training && lora_dropout[active].p > 0;
        Tensor? bias = base_layer is Linear l ? l.bias : null;
        Tensor withoutBias = dropping ? dropped.matmul(dense.t()) : bias is null ? result : result.sub(bias);
        return DoRAMath.Combine(result, withoutBias, up, Magnitude(active), norm, _scaling[active]).MoveToOuterDisposeScope();
    }

    private Tensor DenseWeight(ScalarType dtype) => base_layer is Linear l
        ? l.weight!.to(dtype)
        : ((IFrozenLinear)base_layer).DenseWeight(dtype);

    /// <summary>
    /// Adds <c>scaling * B·A</c> of the active adapter to the base weight (DoRA: replaces W by
    /// <c>m / ||W + sBA|| * (W + sBA)</c>), computed in fp32 (fp64 for an fp64 weight). With
    /// <paramref name="safe"/>, a merge that would produce NaN or infinity is refused and the weight is unchanged.
    /// </summary>
    public void Merge(bool safe = true)
    {
        string active = ActiveAdapter ?? throw new InvalidOperationException("No active adapter to merge.");
        if (base_layer is not Linear)
            throw new InvalidOperationException($"The base layer is a {base_layer.GetType().Name}, not a dense Linear: adapters cannot be merged into it (dequantize the model first).");
        if (_merged.Contains(active)) return;
        ApplyDelta(active, sign: +1, safe);
        _merged.Add(active);
    }

    /// <summary>Subtracts the merged adapters' updates from the base weight again (fp32).</summary>
    public void Unmerge()
    {
        for (int i = _merged.Count - 1; i >= 0; i--) ApplyDelta(_merged[i], sign: -1, safe: false);
        _merged.Clear();
    }

    /// <summary>The update <c>scaling * B·A</c> of an adapter in fp32, [out, in].</summary>
    public Tensor Delta(string adapter) => Delta(adapter, ScalarType.Float32);

    private Tensor Delta(string adapter, ScalarType dtype)
    {
        using var noGrad = no_grad();
        using Tensor b = B(adapter).to(dtype);
        using Tensor a = A(adapter).to(dtype);
        using Tensor ba = b.matmul(a);
        return ba.mul(_scaling[adapter]);
    }

    /// <summary>The options an adapter was created with (null when it was attached directly).</summary>
    public LoRAOptions? OptionsOf(string adapter) => _options.TryGetValue(adapter, out LoRAOptions? o) ? o.Clone() : null;

    internal void RecordOptions(string adapter, LoRAOptions options) => _options[adapter] = options.Clone();

    internal IDisposable Disable()
    {
        _disabled++;
        return new Restore(() => _disabled--);
    }

    private void ApplyDelta(string adapter, int sign, bool safe)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        Parameter w = ((Linear)base_layer).weight!;
        ScalarType wide = DoRAMath.Wide(w.dtype);
        Tensor updated;
        if (!_dora.Contains(adapter))
        {
            updated = w.to(wide).add(Delta(adapter, wide), alpha: sign);
        }
        else if (sign > 0)
        {
            // Keep the norm to undo the merge exactly.
            updated = MergedWeight(w, adapter, out Tensor norm);
            if (!safe || updated.isfinite().all().item<bool>()) _mergedNorms[adapter] = norm.detach().clone().DetachFromDisposeScope();
        }
        else
        {
            Tensor norm = _mergedNorms[adapter];
            Tensor scale = Magnitude(adapter).to(wide).div(norm).unsqueeze(1);
            updated = w.to(wide).div(scale).sub(Delta(adapter, wide));
            _mergedNorms.Remove(adapter);
            norm.Dispose();
        }
        if (safe && !updated.isfinite().all().item<bool>())
            throw new InvalidOperationException($"Merging adapter \"{adapter}\" would make the base weight non-finite; the weight is unchanged.");
        w.copy_(updated);
    }

    /// <summary>
    /// <paramref name="weight"/> with <paramref name="adapter"/> merged in, in fp32: <c>W + sBA</c>, or for DoRA
    /// <c>m / ||W + sBA|| * (W + sBA)</c> (<paramref name="norm"/> is that row norm; for plain LoRA a 0-dim placeholder).
    /// </summary>
    private Tensor MergedWeight(Tensor weight, string adapter, out Tensor norm)
    {
        using var noGrad = no_grad();
        ScalarType wide = DoRAMath.Wide(weight.dtype);
        Tensor sum = weight.to(wide).add(Delta(adapter, wide));
        if (!_dora.Contains(adapter))
        {
            norm = zeros(Array.Empty<long>());
            return sum;
        }

        norm = DoRAMath.WeightNorm(weight, A(adapter), B(adapter), _scaling[adapter]);
        using Tensor scale = Magnitude(adapter).to(wide).div(norm).unsqueeze(1);
        return sum.mul_(scale);
    }

    /// <summary>
    /// The active adapter merged into the (dequantized) base weight, in fp32 (fp64 for an fp64 weight), without changing
    /// the layer: the weight of the dense layer that replaces a quantized base (QLoRA's merge_and_unload), or a merge to
    /// check before any weight is written. With no active adapter (or one already merged): the base weight alone.
    /// </summary>
    internal Tensor MergedDenseWeight()
    {
        using var scope = NewDisposeScope();
        Tensor dense = DenseWeight(base_layer is Linear l ? DoRAMath.Wide(l.weight!.dtype) : ScalarType.Float32);
        if (ActiveAdapter is not string active || _merged.Count > 0) return dense.MoveToOuterDisposeScope();
        return MergedWeight(dense, active, out _).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Hands the base layer over to the caller: it is unregistered from this wrapper, so disposing the wrapper frees
    /// the adapters only. The wrapper must not be used afterwards.
    /// </summary>
    internal nn.Module<Tensor, Tensor> ReleaseBaseLayer()
    {
        nn.Module<Tensor, Tensor> released = base_layer;
        register_module(BaseLayerName, null!);
        foreach (Tensor norm in _mergedNorms.Values) norm.Dispose();
        _mergedNorms.Clear();
        return released;
    }

    private sealed class Restore(Action action) : IDisposable
    {
        private Action? _action = action;

        public void Dispose()
        {
            _action?.Invoke();
            _action = null;
        }
    }
}

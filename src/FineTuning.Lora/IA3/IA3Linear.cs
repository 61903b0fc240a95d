using System;
using System.Linq;
using FineTuning.Adapters;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuning.Lora.IA3;

/// <summary>
/// A frozen linear layer (a <c>Linear</c> or any <see cref="IFrozenLinear"/>, e.g. a quantized one) with an (IA)³ vector
/// <c>l</c>, initialised to ones: <c>y = base(x) * l</c> for attention modules (l has out_features entries, PEFT's shape
/// [out, 1]), <c>y = base(x * l)</c> for feedforward modules (in_features entries, shape [1, in]). State-dict keys are
/// PEFT's: <c>base_layer.weight</c>, <c>ia3_l.default</c>.
/// </summary>
public sealed class IA3Linear : nn.Module<Tensor, Tensor>
{
    /// <summary>The child name of the wrapped layer (PEFT's <c>base_layer</c>).</summary>
    public const string BaseLayerName = "base_layer";

#pragma warning disable IDE1006, SA1300 // state-dict names
    private readonly nn.Module<Tensor, Tensor> base_layer;
    private readonly IA3Vector ia3_l;
#pragma warning restore IDE1006, SA1300
    private int _disabled;

    /// <summary>Wraps <paramref name="baseLayer"/> (a <c>Linear</c> or an <see cref="IFrozenLinear"/> module) with a vector of ones.</summary>
    /// <exception cref="ArgumentException">The layer is neither.</exception>
    public IA3Linear(nn.Module<Tensor, Tensor> baseLayer, bool isFeedforward)
        : base(nameof(IA3Linear))
    {
        ArgumentNullException.ThrowIfNull(baseLayer);
        (InFeatures, OutFeatures) = baseLayer switch
        {
            Linear l => (l.weight!.shape[1], l.weight!.shape[0]),
            IFrozenLinear f => (f.InFeatures, f.OutFeatures),
            _ => throw new ArgumentException($"IA3 wraps a Linear or an IFrozenLinear layer, not a {baseLayer.GetType().Name}.", nameof(baseLayer)),
        };
        IsFeedforward = isFeedforward;
        base_layer = baseLayer;
        // Same dtype and device as the base (a quantized base keeps packed integer buffers: its first floating tensor, else fp32).
        Tensor? reference = baseLayer.parameters().Cast<Tensor>().Concat(baseLayer.buffers()).FirstOrDefault(t => is_floating_point(t));
        ia3_l = new IA3Vector(isFeedforward ? new[] { 1L, InFeatures } : new[] { OutFeatures, 1L },
            reference?.dtype ?? ScalarType.Float32, reference?.device ?? baseLayer.buffers().FirstOrDefault()?.device ?? CPU);
        RegisterComponents();
    }

    /// <summary>Input features.</summary>
    public long InFeatures { get; }

    /// <summary>Output features.</summary>
    public long OutFeatures { get; }

    /// <summary>True when the vector scales the input (a feedforward module), false when it scales the output.</summary>
    public bool IsFeedforward { get; }

    /// <summary>The wrapped layer.</summary>
    public nn.Module<Tensor, Tensor> BaseLayer => base_layer;

    /// <summary>The (IA)³ vector: shape [1, in] for a feedforward module, [out, 1] otherwise (PEFT's shapes).</summary>
    public Parameter Vector => ia3_l.Value;

    /// <summary>True while the vector is multiplied into the base weights (<see cref="Merge"/>).</summary>
    public bool IsMerged { get; private set; }

    /// <summary>True while a disable scope is open (<see cref="IA3Adapter.DisableAdapters"/>): the layer runs as its base.</summary>
    public bool AdapterDisabled => _disabled > 0;

    /// <summary>
    /// Multiplies the vector into the base layer (PEFT's merge): an attention module's weight rows and bias by l, a
    /// feedforward module's weight columns by l. The output stays the same up to rounding; <see cref="Unmerge"/> divides back.
    /// </summary>
    /// <exception cref="NotSupportedException">The base is not a <c>Linear</c> (e.g. quantized).</exception>
    /// <exception cref="InvalidOperationException">Already merged, or an entry of l is 0 (the weights it zeroes could not be restored).</exception>
    public void Merge() => Rescale(merge: true);

    /// <summary>Divides the vector out of the base layer again.</summary>
    /// <exception cref="InvalidOperationException">Not merged.</exception>
    public void Unmerge() => Rescale(merge: false);

    /// <summary>Opens a disable scope (scopes nest); <see cref="IA3Adapter.DisableAdapters"/> checks that the vector is not merged.</summary>
    internal void EnterDisabled() => _disabled++;

    /// <summary>Closes a disable scope.</summary>
    internal void ExitDisabled() => _disabled--;

    private void Rescale(bool merge)
    {
        if (base_layer is not Linear linear) throw new NotSupportedException($"Merging IA3 into a {base_layer.GetType().Name} base is not supported yet; only into Linear layers.");
        if (_disabled > 0) throw new InvalidOperationException("The IA3 adapter is disabled; close the disable scope before merging or unmerging.");
        if (IsMerged == merge) throw new InvalidOperationException(merge ? "The IA3 vector is already merged." : "The IA3 vector is not merged.");
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        Tensor l = Vector.detach().to(linear.weight!.dtype);
        if (merge && l.eq(0).any().item<bool>()) throw new InvalidOperationException("The IA3 vector has a 0 entry: merging would lose the weights it zeroes, and unmerging could not restore them.");
        if (merge) linear.weight!.mul_(l); else linear.weight!.div_(l); // [out, 1] scales rows, [1, in] scales columns
        if (!IsFeedforward && linear.bias is { } bias)
        {
            if (merge) bias.mul_(l.flatten()); else bias.div_(l.flatten());
        }
        IsMerged = merge;
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        if (IsMerged || _disabled > 0) return base_layer.call(input); // merged: l is in the weights; disabled: the base itself
        using Tensor scale = Vector.flatten();
        if (IsFeedforward)
        {
            using Tensor scaled = input.mul(scale);
            return base_layer.call(scaled);
        }
        using Tensor output = base_layer.call(input);
        return output.mul(scale);
    }
}

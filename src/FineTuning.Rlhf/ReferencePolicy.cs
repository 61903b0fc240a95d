using System;
using TorchSharp;

namespace FineTuning.Rlhf;

/// <summary>
/// Where the reference policy's log-probabilities come from, without a second copy of the model:
/// <see cref="Precomputed"/> runs the model once before the first step (with LoRA at initialisation, or before any full
/// fine-tuning step, that IS the base model) and caches the results; <see cref="WithinScope"/> runs the model inside a
/// scope that turns the trained parts off, e.g. <c>ReferencePolicy.WithinScope(LoRA.DisableAdapters)</c>.
/// </summary>
public sealed class ReferencePolicy
{
    private ReferencePolicy(string name, Func<torch.nn.Module, IDisposable>? scope)
    {
        Name = name;
        Scope = scope;
    }

    /// <summary>No reference (for ORPO and SimPO).</summary>
    public static ReferencePolicy None { get; } = new("none", null);

    /// <summary>Reference log-probabilities computed once, before the first step, and cached per pair.</summary>
    public static ReferencePolicy Precomputed { get; } = new("precomputed", null);

    /// <summary>Reference log-probabilities computed each step inside <paramref name="scope"/> (e.g. adapters disabled).</summary>
    public static ReferencePolicy WithinScope(Func<torch.nn.Module, IDisposable> scope)
    {
        ArgumentNullException.ThrowIfNull(scope);
        return new ReferencePolicy("within scope", scope);
    }

    /// <summary>A short name for messages.</summary>
    public string Name { get; }

    internal Func<torch.nn.Module, IDisposable>? Scope { get; }

    /// <inheritdoc />
    public override string ToString() => Name;
}

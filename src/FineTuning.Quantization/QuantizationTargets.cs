using System;
using System.Collections.Generic;
using FineTuning.Adapters;

namespace FineTuning.Quantization;

/// <summary>
/// Which linear layers are quantized: every linear layer except the output head (the default, as
/// bitsandbytes/transformers keep <c>lm_head</c> in full precision), or layers named by full name or name suffix
/// (<c>q_proj</c> matches <c>model.layers.0.self_attn.q_proj</c>). Exclusions apply last. The quantization spelling of
/// Core's <see cref="ModuleTargets"/>, which every adapter uses; a <see cref="ModuleTargets"/> converts implicitly.
/// </summary>
public sealed class QuantizationTargets
{
    /// <summary>Module names of output heads, kept in full precision by <see cref="AllLinear"/>.</summary>
    public static readonly IReadOnlyList<string> OutputHeadNames = ModuleTargets.OutputHeadNames;

    private QuantizationTargets(ModuleTargets targets) => ModuleTargets = targets;

    /// <summary>Every linear layer except output heads (see <see cref="OutputHeadNames"/>).</summary>
    public static QuantizationTargets AllLinear { get; } = new(ModuleTargets.AllLinear);

    /// <summary>The same selection as Core's targeting type.</summary>
    public ModuleTargets ModuleTargets { get; }

    /// <summary>Layers whose full name equals one of <paramref name="names"/> or ends with "." + one of them.</summary>
    public static QuantizationTargets Names(params string[] names) => new(ModuleTargets.Names(names));

    /// <summary>These targets without layers whose name equals or ends with one of <paramref name="names"/>.</summary>
    public QuantizationTargets Except(params string[] names) => new(ModuleTargets.Except(names));

    /// <summary>The quantization spelling of <paramref name="targets"/>.</summary>
    public static QuantizationTargets FromModuleTargets(ModuleTargets targets)
    {
        ArgumentNullException.ThrowIfNull(targets);
        return new QuantizationTargets(targets);
    }

    /// <summary>Converts Core's targets, so <c>Targets = ModuleTargets.Regex(...)</c> works.</summary>
    public static implicit operator QuantizationTargets(ModuleTargets targets) => FromModuleTargets(targets);

    /// <summary>True when the linear layer with this full module name is quantized.</summary>
    public bool Matches(string moduleName) => ModuleTargets.Matches(moduleName);

    /// <inheritdoc />
    public override string ToString() => ModuleTargets.ToString();
}

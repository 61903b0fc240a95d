using System;
using System.Collections.Generic;
using FineTuning.Adapters;

namespace FineTuning.Lora;

/// <summary>
/// Which linear layers receive adapters, as PEFT's <c>target_modules</c>: exact names or name suffixes
/// (<c>q_proj</c> matches <c>model.layers.0.self_attn.q_proj</c>), a regular expression over the full name, or
/// every linear layer except the output head (PEFT's <c>"all-linear"</c>). Exclusions apply last. The LoRA spelling
/// of Core's <see cref="ModuleTargets"/>, which every adapter uses; a <see cref="ModuleTargets"/> converts implicitly.
/// </summary>
public sealed class LoRATargets
{
    /// <summary>Module names PEFT and Hugging Face use for output heads, excluded by <see cref="AllLinear"/>.</summary>
    public static readonly IReadOnlyList<string> OutputHeadNames = ModuleTargets.OutputHeadNames;

    private LoRATargets(ModuleTargets targets) => ModuleTargets = targets;

    /// <summary>Every linear layer except the output head (see <see cref="OutputHeadNames"/>); PEFT's "all-linear".</summary>
    public static LoRATargets AllLinear { get; } = new(ModuleTargets.AllLinear);

    /// <summary>The same selection as Core's targeting type.</summary>
    public ModuleTargets ModuleTargets { get; }

    /// <summary>Layers whose full name equals one of <paramref name="names"/> or ends with "." + one of them.</summary>
    public static LoRATargets Names(params string[] names) => new(ModuleTargets.Names(names));

    /// <summary>Layers whose full name matches <paramref name="pattern"/> entirely (as PEFT does with a string target_modules).</summary>
    public static LoRATargets Regex(string pattern) => new(ModuleTargets.Regex(pattern));

    /// <summary>Exactly the layers with these full module names (a loaded adapter wraps only the layers its file names).</summary>
    internal static LoRATargets Exact(IReadOnlyCollection<string> names) => new(ModuleTargets.Exact(names));

    /// <summary>These targets without layers whose name equals or ends with one of <paramref name="names"/> (PEFT's <c>exclude_modules</c>).</summary>
    public LoRATargets Except(params string[] names) => new(ModuleTargets.Except(names));

    /// <summary>The value written as <c>target_modules</c> in adapter_config.json.</summary>
    public IReadOnlyList<string> PeftTargetModules => ModuleTargets.PeftTargetModules;

    /// <summary>The LoRA spelling of <paramref name="targets"/>.</summary>
    public static LoRATargets FromModuleTargets(ModuleTargets targets)
    {
        ArgumentNullException.ThrowIfNull(targets);
        return new LoRATargets(targets);
    }

    /// <summary>Converts Core's targets, so <c>WithLoRA(targets: ModuleTargets.Names("q_proj"))</c> works.</summary>
    public static implicit operator LoRATargets(ModuleTargets targets) => FromModuleTargets(targets);

    /// <summary>True when the linear layer with this full module name is a target.</summary>
    public bool Matches(string moduleName) => ModuleTargets.Matches(moduleName);

    /// <inheritdoc />
    public override string ToString() => ModuleTargets.ToString();
}

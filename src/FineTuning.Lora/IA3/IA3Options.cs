using System.Collections.Generic;
using FineTuning.Adapters;

namespace FineTuning.Lora.IA3;

/// <summary>
/// (IA)³ settings, named as PEFT's <c>IA3Config</c> names them (<c>target_modules</c>, <c>feedforward_modules</c>). See Liu
/// et al. 2022, "Few-Shot Parameter-Efficient Fine-Tuning is Better and Cheaper than In-Context Learning": each targeted
/// linear layer gets a learned vector that rescales its output (attention modules) or its input (feedforward modules).
/// The defaults are PEFT's for the LLaMA family.
/// </summary>
public sealed class IA3Options
{
    /// <summary><c>target_modules</c>: the linear layers that get a vector. Default <c>k_proj</c>, <c>v_proj</c>, <c>down_proj</c> (PEFT's for LLaMA).</summary>
    public ModuleTargets Targets { get; set; } = ModuleTargets.Names("k_proj", "v_proj", "down_proj");

    /// <summary>
    /// <c>feedforward_modules</c>: which of the targets are feedforward layers, whose INPUT the vector scales (size in_features);
    /// the vector of the other targets scales their OUTPUT (size out_features). Null for none. Default <c>down_proj</c>.
    /// Every module it matches must also be a target.
    /// </summary>
    public ModuleTargets? FeedforwardModules { get; set; } = ModuleTargets.Names("down_proj");

    internal IA3Options Clone() => (IA3Options)MemberwiseClone();

    internal IEnumerable<string> Validate()
    {
        if (Targets is null) yield return "IA3 targets must be set.";
    }
}

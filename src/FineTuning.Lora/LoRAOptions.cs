using System.Collections.Generic;
using System.Linq;

namespace FineTuning.Lora;

/// <summary>
/// LoRA settings, named as PEFT's <c>LoraConfig</c> names them (<c>r</c>, <c>lora_alpha</c>, <c>lora_dropout</c>,
/// <c>target_modules</c>, <c>modules_to_save</c>, <c>use_rslora</c>, <c>use_dora</c>) so that knowledge and
/// <c>adapter_config.json</c> files carry over. See Hu et al. 2021, "LoRA: Low-Rank Adaptation of Large Language Models".
/// </summary>
public sealed class LoRAOptions
{
    /// <summary>Rank <c>r</c> of the update B·A. Default 8 (PEFT's default).</summary>
    public int R { get; set; } = 8;

    /// <summary><c>lora_alpha</c>: the update is scaled by alpha / r (alpha / sqrt(r) with rsLoRA). Default 8 (PEFT's default).</summary>
    public double Alpha { get; set; } = 8;

    /// <summary><c>lora_dropout</c> on the adapter's input. Default 0.</summary>
    public double Dropout { get; set; }

    /// <summary>Which linear layers get adapters. Default <see cref="LoRATargets.AllLinear"/> (every linear layer except the output head).</summary>
    public LoRATargets Targets { get; set; } = LoRATargets.AllLinear;

    /// <summary><c>modules_to_save</c>: module names (or name suffixes) trained fully and saved with the adapter, e.g. a classifier head.</summary>
    public IList<string> ModulesToSave { get; set; } = new List<string>();

    /// <summary><c>use_rslora</c>: scale by alpha / sqrt(r) (Kalajdzievski 2023, "A Rank Stabilization Scaling Factor for Fine-Tuning with LoRA").</summary>
    public bool UseRsLoRA { get; set; }

    /// <summary><c>use_dora</c>: weight-decomposed LoRA (Liu et al. 2024): a learnable magnitude per output row times the
    /// direction of W + s·B·A (the norm treated as a constant in the backward pass, as PEFT does).</summary>
    public bool UseDoRA { get; set; }

    /// <summary>Name of the adapter; several named adapters can live on one model. Default "default" (as PEFT).</summary>
    public string AdapterName { get; set; } = "default";

    /// <summary>Seed of the generator that initialises A (Kaiming-uniform as PEFT; B starts at zero).</summary>
    public ulong Seed { get; set; }

    /// <summary>
    /// PEFT's <c>trainable_token_indices</c> as a list: token ids whose rows of the input embedding are trained (and saved
    /// with the adapter) while the rest of the embedding stays frozen; an output head tied to the embedding sees the same
    /// rows. Use it for EOS / end-of-turn tokens the base model never learned to predict, and for newly added tokens.
    /// </summary>
    public IList<int> TrainableTokenIndices { get; set; } = new List<int>();

    /// <summary>
    /// PEFT's <c>trainable_token_indices</c> as a dictionary: module name (or name suffix, e.g. <c>embed_tokens</c>,
    /// <c>lm_head</c> for an untied output head) to the token ids whose rows are trained. Exclusive with
    /// <see cref="TrainableTokenIndices"/>.
    /// </summary>
    public IDictionary<string, IList<int>> TrainableTokenIndicesByModule { get; set; } = new Dictionary<string, IList<int>>();

    /// <summary>The scale applied to B·A (of layers without a <see cref="RankPattern"/> / <see cref="AlphaPattern"/> entry).</summary>
    public double Scaling => UseRsLoRA ? Alpha / System.Math.Sqrt(R) : Alpha / R;

    /// <summary>
    /// <c>init_lora_weights</c>: how A and B start. Default <see cref="LoRAInit.Default"/> (PEFT's <c>true</c>: Kaiming-uniform
    /// A, zero B); see <see cref="LoRAInit"/> for <c>false</c>, <c>gaussian</c>, <c>pissa</c>, <c>pissa_niter_N</c>, <c>olora</c>.
    /// </summary>
    public LoRAInit InitLoraWeights { get; set; } = LoRAInit.Default;

    /// <summary>
    /// <c>rank_pattern</c>: per-layer ranks overriding <see cref="R"/>. A key matches a layer whose full name equals it, or
    /// ends with it as a regular expression after a '.' (PEFT's <c>re.match(rf"(.*\.)?({key})$", name)</c>); the first
    /// matching key in insertion order wins, e.g. <c>{ ["v_proj"] = 16, [@"layers\.0\.q_proj"] = 4 }</c>.
    /// </summary>
    public IDictionary<string, int> RankPattern { get; set; } = new Dictionary<string, int>(System.StringComparer.Ordinal);

    /// <summary><c>alpha_pattern</c>: per-layer alphas overriding <see cref="Alpha"/>, keys matched as in <see cref="RankPattern"/>.</summary>
    public IDictionary<string, double> AlphaPattern { get; set; } = new Dictionary<string, double>(System.StringComparer.Ordinal);

    /// <summary>
    /// <c>layers_to_transform</c>: only layers whose block index (the number after <see cref="LayersPattern"/>, by default
    /// after any module name: <c>model.layers.3.self_attn.q_proj</c> is in layer 3) is listed get adapters. Empty: all.
    /// Works with name targets and <see cref="LoRATargets.AllLinear"/>, not with a regex (as PEFT).
    /// </summary>
    public IList<int> LayersToTransform { get; set; } = new List<int>();

    /// <summary><c>layers_pattern</c>: the name(s) of the module list holding the blocks, e.g. <c>"layers"</c> or <c>"h"</c>; only with <see cref="LayersToTransform"/>.</summary>
    public IList<string> LayersPattern { get; set; } = new List<string>();

    /// <summary>The rank of the layer with this full module name (<see cref="RankPattern"/>, else <see cref="R"/>).</summary>
    public int RankFor(string moduleName) =>
        PeftPatterns.Key(RankPattern.Keys, moduleName) is { } key ? RankPattern[key] : R;

    /// <summary>The alpha of the layer with this full module name (<see cref="AlphaPattern"/>, else <see cref="Alpha"/>).</summary>
    public double AlphaFor(string moduleName) =>
        PeftPatterns.Key(AlphaPattern.Keys, moduleName) is { } key ? AlphaPattern[key] : Alpha;

    /// <summary>The scale of the layer with this full module name: alpha / r (alpha / sqrt(r) with rsLoRA) of its own rank and alpha.</summary>
    public double ScalingFor(string moduleName)
    {
        int r = RankFor(moduleName);
        double alpha = AlphaFor(moduleName);
        return UseRsLoRA ? alpha / System.Math.Sqrt(r) : alpha / r;
    }

    internal LoRAOptions Clone()
    {
        var copy = (LoRAOptions)MemberwiseClone();
        copy.ModulesToSave = new List<string>(ModulesToSave);
        copy.RankPattern = new Dictionary<string, int>(RankPattern, System.StringComparer.Ordinal);
        copy.AlphaPattern = new Dictionary<string, double>(AlphaPattern, System.StringComparer.Ordinal);
        copy.LayersToTransform = new List<int>(LayersToTransform);
        copy.LayersPattern = new List<string>(LayersPattern);
        copy.TrainableTokenIndices = new List<int>(TrainableTokenIndices ?? new List<int>());
        copy.TrainableTokenIndicesByModule = (TrainableTokenIndicesByModule ?? new Dictionary<string, IList<int>>())
            .ToDictionary(kv => kv.Key, kv => (IList<int>)new List<int>(kv.Value ?? new List<int>()), System.StringComparer.Ordinal);
        return copy;
    }

    internal IEnumerable<string> Validate()
    {
        if (R < 1) yield return $"LoRA r must be at least 1 (was {R}).";
        if (!(Alpha > 0) || !(Alpha <= Peft.PeftAdapterConfig.MaxLoraAlpha))
            yield return $"LoRA alpha must be a positive number no larger than {Peft.PeftAdapterConfig.MaxLoraAlpha:G} (was {Alpha}); the scale alpha / r multiplies float32 values.";
        if (!(Dropout >= 0 && Dropout < 1)) yield return $"LoRA dropout must be in [0, 1) (was {Dropout}).";
        if (Targets is null) yield return "LoRA targets must be set.";
        if (string.IsNullOrWhiteSpace(AdapterName) || AdapterName.Contains('.', System.StringComparison.Ordinal))
            yield return $"LoRA adapter name must be non-empty and contain no '.' (was \"{AdapterName}\").";
        if (InitLoraWeights is null) yield return "LoRA init_lora_weights must be set (LoRAInit.Default for PEFT's default).";
        foreach (string problem in PeftPatterns.Problems(this)) yield return problem;
    }
}

using System;
using System.Linq;
using FineTuning.Generation;
using FineTuning.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuning.Models.Gpt2;

/// <summary>
/// A GPT-2 causal language model (Radford et al. 2019) whose state-dict keys are Hugging Face's
/// <c>GPT2LMHeadModel</c> keys (<c>transformer.wte.weight</c>, <c>transformer.wpe.weight</c>,
/// <c>transformer.h.{i}.ln_1.weight</c>, <c>transformer.h.{i}.attn.c_attn.weight</c>, ..., <c>transformer.ln_f.bias</c>);
/// the output head is tied to <c>wte</c>. HF's <c>Conv1D</c> layers (<c>c_attn</c>, <c>c_proj</c>, <c>c_fc</c>) are
/// <c>Linear</c> modules here, so their weights are the transposes of HF's ([out, in] instead of [in, out]);
/// <see cref="HuggingFace.HfCheckpoint"/> transposes them on load and save. <c>forward(input_ids)</c> returns logits
/// [batch, seq, vocab].
/// </summary>
public sealed class Gpt2LMHeadModel : nn.Module<Tensor, Tensor>, ICausalLanguageModel, IFineTunable<TokenSequence>, IPretrainedModel, ISupportsGradientCheckpointing, ICausalLMHiddenStates
{
#pragma warning disable IDE1006 // field names are state-dict keys
    private readonly Gpt2Model transformer;
#pragma warning restore IDE1006

    /// <summary>Creates a model with PyTorch-default (untrained) weights; see <see cref="InitializeWeights"/>.</summary>
    /// <param name="config">The architecture; validated here.</param>
    /// <param name="device">Where to create the parameters (CPU by default).</param>
    /// <param name="dtype">Parameter type (float32 by default).</param>
    /// <exception cref="ModelConfigException"><paramref name="config"/> is invalid.</exception>
    public Gpt2LMHeadModel(Gpt2Config config, Device? device = null, ScalarType? dtype = null)
        : base(nameof(Gpt2LMHeadModel))
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config;
        transformer = new Gpt2Model(config, device, dtype);
        RegisterComponents();
    }

    /// <summary>The architecture this model was built with.</summary>
    public Gpt2Config Config { get; }

    /// <inheritdoc />
    public int VocabSize => Config.VocabSize;

    /// <inheritdoc />
    public Device Device => parameters().First().device;

    /// <inheritdoc />
    public string? NameOrPath { get; set; }

    /// <inheritdoc />
    public string TaskType => Adapters.PeftTaskTypes.CausalLM;

    nn.Module IFineTunable<TokenSequence>.Module => this;

    /// <inheritdoc />
    public bool GradientCheckpointing
    {
        get => transformer.GradientCheckpointing;
        set => transformer.GradientCheckpointing = value;
    }

    /// <summary>Next-token cross-entropy over the non-ignored labels (<see cref="CausalLMObjective"/>).</summary>
    public ITrainingObjective<TokenSequence> DefaultObjective { get; } = new CausalLMObjective();

    /// <summary>Logits [batch, seq, vocab] for token ids [batch, seq] (int64), causal attention, positions 0..seq-1.</summary>
    /// <param name="input">Token ids.</param>
    /// <returns>The logits.</returns>
    public override Tensor forward(Tensor input) => Forward(input);

    /// <inheritdoc />
    public Tensor Forward(Tensor inputIds, Tensor? attentionMask = null, Tensor? positionIds = null, KVCache? cache = null)
    {
        CausalLMInputs.Check(inputIds, cache, Config.NLayer);

        using var scope = torch.NewDisposeScope();
        Tensor hidden = transformer.Forward(inputIds, attentionMask, positionIds, cache);
        return nn.functional.linear(hidden, transformer.EmbeddingWeight).MoveToOuterDisposeScope();
    }

    Tensor ICausalLMHiddenStates.ForwardHiddenStates(Tensor inputIds, Tensor? attentionMask, Tensor? positionIds)
    {
        CausalLMInputs.Check(inputIds, null, Config.NLayer);
        return transformer.Forward(inputIds, attentionMask, positionIds, null);
    }

    OutputHead? ICausalLMHiddenStates.OutputHead() => Models.OutputHead.Dense(transformer.EmbeddingWeight); // tied to wte, no bias

    /// <inheritdoc />
    public KVCache CreateCache() => new(Config.NLayer);

    /// <summary>
    /// Re-initialises every weight as Hugging Face does for GPT-2: normal(0, <paramref name="std"/>) for linear and
    /// embedding weights, zero biases, LayerNorm weight 1 and bias 0 (HF additionally scales residual projections;
    /// irrelevant for tests and for loading). Pass a seeded generator for reproducible weights.
    /// </summary>
    /// <param name="generator">Random source; null uses TorchSharp's default generator.</param>
    /// <param name="std">Standard deviation (HF's <c>initializer_range</c>).</param>
    public void InitializeWeights(Generator? generator = null, double std = 0.02)
    {
        using var noGrad = torch.no_grad();
        foreach ((string name, Parameter p) in named_parameters())
        {
            bool norm = name.Contains(".ln_", StringComparison.Ordinal);
            if (name.EndsWith(".bias", StringComparison.Ordinal)) p.zero_();
            else if (norm) p.fill_(1.0);
            else p.normal_(0.0, std, generator);
        }
    }
}

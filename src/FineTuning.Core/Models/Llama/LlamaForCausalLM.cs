using System;
using System.Linq;
using FineTuning.Generation;
using FineTuning.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuning.Models.Llama;

/// <summary>
/// A LLaMA-architecture causal language model whose state-dict keys are exactly Hugging Face's
/// (<c>model.embed_tokens.weight</c>, <c>model.layers.{i}.self_attn.q_proj.weight</c>, ...,
/// <c>model.norm.weight</c>, <c>lm_head.weight</c> unless the embeddings are tied).
/// <c>forward(input_ids)</c> returns logits [batch, seq, vocab].
/// </summary>
public sealed class LlamaForCausalLM : nn.Module<Tensor, Tensor>, ICausalLanguageModel, IFineTunable<TokenSequence>, IPretrainedModel, ISupportsGradientCheckpointing, ICausalLMHiddenStates
{
#pragma warning disable IDE1006 // field names are state-dict keys
    private readonly LlamaModel model;
    private nn.Module<Tensor, Tensor>? lm_head;
#pragma warning restore IDE1006

    /// <summary>Creates a model with freshly initialised (untrained) weights.</summary>
    /// <param name="config">The architecture; validated here.</param>
    /// <param name="device">Where to create the parameters (CPU by default).</param>
    /// <param name="dtype">Parameter type (float32 by default).</param>
    /// <exception cref="ModelConfigException"><paramref name="config"/> is invalid.</exception>
    public LlamaForCausalLM(LlamaConfig config, Device? device = null, ScalarType? dtype = null)
        : base(nameof(LlamaForCausalLM))
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config;
        model = new LlamaModel(config, device, dtype);
        if (!config.TieWordEmbeddings)
        {
            lm_head = nn.Linear(config.HiddenSize, config.VocabSize, hasBias: false, device: device, dtype: dtype);
        }

        RegisterComponents();
    }

    /// <summary>The architecture this model was built with.</summary>
    public LlamaConfig Config { get; }

    /// <inheritdoc />
    public int VocabSize => Config.VocabSize;

    /// <inheritdoc />
    /// <remarks>Read from the registered parameters: TorchSharp's <c>Embedding.weight</c> getter makes a new tensor wrapper on every call.</remarks>
    public Device Device => parameters().First().device;

    /// <inheritdoc />
    public string? NameOrPath { get; set; }

    /// <inheritdoc />
    public string TaskType => Adapters.PeftTaskTypes.CausalLM;

    nn.Module IFineTunable<TokenSequence>.Module => this;

    /// <inheritdoc />
    public bool GradientCheckpointing
    {
        get => model.GradientCheckpointing;
        set => model.GradientCheckpointing = value;
    }

    /// <summary>Next-token cross-entropy over the non-ignored labels (<see cref="CausalLMObjective"/>).</summary>
    public ITrainingObjective<TokenSequence> DefaultObjective { get; } = new CausalLMObjective();

    /// <summary>Logits [batch, seq, vocab] for <paramref name="input"/> token ids [batch, seq] (int64), causal attention, positions 0..seq-1.</summary>
    /// <param name="input">Token ids.</param>
    /// <returns>The logits.</returns>
    public override Tensor forward(Tensor input) => Forward(input);

    /// <inheritdoc />
    public Tensor Forward(Tensor inputIds, Tensor? attentionMask = null, Tensor? positionIds = null, KVCache? cache = null)
    {
        CausalLMInputs.Check(inputIds, cache, Config.NumHiddenLayers);

        CheckWindow(inputIds.shape[1] + (cache?.Length ?? 0));
        using var scope = torch.NewDisposeScope();
        Tensor hidden = model.Forward(inputIds, attentionMask, positionIds, cache);
        Tensor logits = lm_head is null
            ? nn.functional.linear(hidden, model.EmbeddingWeight)
            : lm_head.call(hidden);
        return logits.MoveToOuterDisposeScope();
    }

    Tensor ICausalLMHiddenStates.ForwardHiddenStates(Tensor inputIds, Tensor? attentionMask, Tensor? positionIds)
    {
        CausalLMInputs.Check(inputIds, null, Config.NumHiddenLayers);
        CheckWindow(inputIds.shape[1]);
        return model.Forward(inputIds, attentionMask, positionIds, null);
    }

    Tensor? ICausalLMHiddenStates.OutputWeight() => lm_head switch
    {
        null => model.EmbeddingWeight,
        Linear { bias: null } linear => linear.weight,
        _ => null, // an adapter replaced the head: the objective computes the full logits through it
    };

    /// <inheritdoc />
    public KVCache CreateCache() => new(Config.NumHiddenLayers);

    private void CheckWindow(long total)
    {
        if (Config.SlidingWindow is int window && total > window)
        {
            // Sliding-window attention is not implemented: beyond the window, full attention would give other results.
            throw new ArgumentException($"{total} positions exceed sliding_window ({window}); sliding-window attention is not implemented.", "inputIds");
        }
    }

    /// <summary>
    /// Re-initialises every weight as Hugging Face does for LLaMA: normal(0, <paramref name="std"/>) for
    /// linear and embedding weights, zero biases, ones for the norms. Pass a seeded generator for
    /// reproducible weights.
    /// </summary>
    /// <param name="generator">Random source; null uses TorchSharp's default generator.</param>
    /// <param name="std">Standard deviation (HF's <c>initializer_range</c>).</param>
    public void InitializeWeights(Generator? generator = null, double std = 0.02)
    {
        using var noGrad = torch.no_grad();
        foreach ((string name, Parameter p) in named_parameters())
        {
            if (name.EndsWith("layernorm.weight", StringComparison.Ordinal) || name == "model.norm.weight")
            {
                p.fill_(1.0);
            }
            else if (name.EndsWith(".bias", StringComparison.Ordinal))
            {
                p.zero_();
            }
            else
            {
                p.normal_(0.0, std, generator);
            }
        }
    }
}

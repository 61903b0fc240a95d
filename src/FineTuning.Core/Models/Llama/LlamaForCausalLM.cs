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

    /// <summary>The architecture this model was built with (its <c>VocabSize</c> follows <see cref="ResizeTokenEmbeddings"/>).</summary>
    public LlamaConfig Config { get; private set; }

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

    /// <summary>Fused autograd functions in the layers (default true); false runs the plain composition (tests compare both).</summary>
    internal bool FusedKernels
    {
        get => model.FusedKernels;
        set => model.FusedKernels = value;
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

    /// <summary>
    /// The decoder's final normalised hidden states [batch, seq, hidden] (HF's <c>last_hidden_state</c>, before
    /// <c>lm_head</c>): what a head on the model reads, e.g. a reward head. Padding as in <see cref="Forward"/>.
    /// </summary>
    /// <param name="inputIds">Token ids [batch, seq] (int64).</param>
    /// <param name="attentionMask">Optional [batch, seq] mask, 1 for real tokens and 0 for padding.</param>
    /// <returns>The hidden states.</returns>
    public Tensor HiddenStates(Tensor inputIds, Tensor? attentionMask = null)
    {
        CausalLMInputs.Check(inputIds, null, Config.NumHiddenLayers);
        CheckWindow(inputIds.shape[1]);
        return model.Forward(inputIds, attentionMask, null, null);
    }

    /// <summary>
    /// Hugging Face's <c>resize_token_embeddings(new_num_tokens, mean_resizing=True)</c>: the embedding (and an untied
    /// <c>lm_head</c>) get <paramref name="newVocabSize"/> rows; existing rows are kept, new rows start at the mean of the
    /// old ones, so new tokens (e.g. chat markers added with <see cref="Tokenizers.AddedTokensTokenizer"/>) begin as an
    /// average token instead of noise. Train the new rows afterwards (LoRA's <c>TrainableTokenIndices</c>, or full
    /// fine-tuning). Call it before applying adapters.
    /// </summary>
    /// <param name="newVocabSize">The new number of token ids, e.g. the extended tokenizer's <c>VocabSize</c>.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="newVocabSize"/> is not positive.</exception>
    /// <exception cref="InvalidOperationException">An adapter already wraps the embedding or the head.</exception>
    public void ResizeTokenEmbeddings(int newVocabSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(newVocabSize);
        if (lm_head is not (null or Linear))
            throw new InvalidOperationException($"lm_head is wrapped by an adapter ({lm_head.GetType().Name}); resize the vocabulary before applying adapters.");
        model.ResizeEmbedding(newVocabSize);
        if (lm_head is Linear head)
        {
            Adapters.ModuleSurgery.Replace(this, nameof(lm_head), head, EmbeddingResizer.Resize(head, newVocabSize));
            head.Dispose();
        }

        Config = Config with { VocabSize = newVocabSize };
    }
    Tensor ICausalLMHiddenStates.ForwardHiddenStates(Tensor inputIds, Tensor? attentionMask, Tensor? positionIds)
    {
        CausalLMInputs.Check(inputIds, null, Config.NumHiddenLayers);
        CheckWindow(inputIds.shape[1]);
        return model.Forward(inputIds, attentionMask, positionIds, null);
    }

    OutputHead? ICausalLMHiddenStates.OutputHead() => lm_head switch
    {
        null => Models.OutputHead.Dense(model.EmbeddingWeight),
        Linear { bias: null } linear => Models.OutputHead.Dense(linear.weight!),
        // A frozen head stored in another form (quantized): read in blocks of rows, never dense whole.
        Adapters.IFrozenLinear frozen when !lm_head.named_parameters().Any(p => p.name == "bias") => Models.OutputHead.Of(frozen),
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

using System;
using System.Collections.Generic;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Models.Bert;

/// <summary>
/// A BERT encoder (Devlin et al. 2019, https://arxiv.org/abs/1810.04805) whose state-dict keys are exactly those
/// of Hugging Face's <c>BertModel</c> (<c>embeddings.*</c>, <c>encoder.layer.{i}.*</c>, <c>pooler.dense.*</c>), so
/// HF checkpoints load by name and LoRA can target <c>query</c>, <c>key</c>, <c>value</c> and <c>dense</c>.
/// <c>forward(input_ids, attention_mask, token_type_ids)</c> returns the last hidden state [batch, seq, hidden].
/// </summary>
public sealed class BertModel : nn.Module<Tensor, Tensor, Tensor, Tensor>, IPretrainedModel
{
#pragma warning disable IDE1006 // Field names are Hugging Face state-dict keys.
    private readonly BertEmbeddings embeddings;
    private readonly BertEncoder encoder;
    private readonly BertPooler? pooler;
#pragma warning restore IDE1006

    /// <summary>Creates a randomly initialised encoder.</summary>
    /// <param name="config">The architecture; validated and copied.</param>
    /// <param name="addPoolingLayer">Whether to include the [CLS] pooler (<c>pooler.dense.*</c>), as HF's <c>add_pooling_layer</c>.</param>
    public BertModel(BertConfig config, bool addPoolingLayer = true)
        : base(nameof(BertModel))
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config.Clone();
        embeddings = new BertEmbeddings(Config);
        encoder = new BertEncoder(Config);
        pooler = addPoolingLayer ? new BertPooler(Config) : null;
        RegisterComponents();
    }

    /// <inheritdoc />
    public string? NameOrPath { get; set; }

    /// <inheritdoc />
    public string TaskType => Adapters.PeftTaskTypes.FeatureExtraction;

    /// <summary>A copy of the architecture this model was built with.</summary>
    public BertConfig Config { get; }

    /// <summary>Whether the model has the [CLS] pooler.</summary>
    public bool HasPooler => pooler is not null;

    /// <summary>Runs the encoder.</summary>
    /// <param name="inputIds">Token ids, int64 [batch, seq].</param>
    /// <param name="attentionMask">1 for real tokens and 0 for padding, integer or bool [batch, seq].</param>
    /// <param name="tokenTypeIds">Segment ids, int64 [batch, seq] (zeros for single sentences).</param>
    /// <returns>The last hidden state, [batch, seq, hidden].</returns>
    public override Tensor forward(Tensor inputIds, Tensor attentionMask, Tensor tokenTypeIds)
    {
        ArgumentNullException.ThrowIfNull(inputIds);
        ArgumentNullException.ThrowIfNull(attentionMask);
        ArgumentNullException.ThrowIfNull(tokenTypeIds);
        if (inputIds.dim() != 2) throw new ArgumentException($"input_ids must be [batch, seq], got [{string.Join(", ", inputIds.shape)}].", nameof(inputIds));
        if (inputIds.shape[1] > Config.MaxPositionEmbeddings)
        {
            throw new ArgumentException($"The sequence length {inputIds.shape[1]} exceeds max_position_embeddings {Config.MaxPositionEmbeddings}.", nameof(inputIds));
        }
        using var scope = NewDisposeScope();
        Tensor attend = attentionMask.to(ScalarType.Bool).unsqueeze(1).unsqueeze(2);
        Tensor hidden = embeddings.forward(inputIds, tokenTypeIds);
        return encoder.forward(hidden, attend).MoveToOuterDisposeScope();
    }

    /// <summary>HF's pooled output: tanh(dense(hidden[:, 0])), [batch, hidden].</summary>
    /// <param name="lastHiddenState">The output of <see cref="forward"/>.</param>
    /// <exception cref="InvalidOperationException">The model was built without a pooler.</exception>
    public Tensor Pool(Tensor lastHiddenState)
    {
        ArgumentNullException.ThrowIfNull(lastHiddenState);
        if (pooler is null) throw new InvalidOperationException("This BertModel was created without a pooling layer.");
        return pooler.forward(lastHiddenState);
    }

    /// <summary>
    /// Copies Hugging Face-named weights into this model. Every parameter must be present with its exact shape;
    /// <c>pooler.*</c> weights are ignored when the model has no pooler. Reports every problem at once.
    /// </summary>
    /// <param name="weights">Weights by HF name (the caller keeps ownership).</param>
    /// <exception cref="FineTuningException">Missing, unexpected or mis-shaped weights.</exception>
    public void LoadWeights(IReadOnlyDictionary<string, Tensor> weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        StateDictLoader.Load(this, weights, ignoredPrefix: HasPooler ? null : "pooler.");
    }
}

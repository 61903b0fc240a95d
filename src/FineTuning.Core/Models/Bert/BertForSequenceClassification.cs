using System;
using System.Collections.Generic;
using System.Linq;
using FineTuning.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuning.Models.Bert;

/// <summary>
/// A BERT encoder with a classification head, state-dict keys as HF's <c>BertForSequenceClassification</c>
/// (<c>bert.*</c>, <c>classifier.weight</c>, <c>classifier.bias</c>). <c>forward(input_ids, attention_mask,
/// token_type_ids)</c> returns logits [batch, num_labels]; its default objective is label cross-entropy.
/// </summary>
public sealed class BertForSequenceClassification : nn.Module<Tensor, Tensor, Tensor, Tensor>, IFineTunable<TextClassificationExample>, IPretrainedModel
{
#pragma warning disable IDE1006 // Field names are Hugging Face state-dict keys.
    private readonly BertModel bert;
    private readonly Dropout dropout;
    private nn.Module<Tensor, Tensor> classifier;
#pragma warning restore IDE1006

    /// <summary>Creates a classifier over a new, randomly initialised encoder.</summary>
    /// <param name="config">The encoder architecture.</param>
    /// <param name="numLabels">Number of classes (at least 2), or 1 for a single score (a reward model, as HF's num_labels = 1).</param>
    /// <param name="pooling">How token states become one vector per sequence.</param>
    public BertForSequenceClassification(BertConfig config, int numLabels, BertClassifierPooling pooling = BertClassifierPooling.Pooler)
        : this(new BertModel(config, pooling == BertClassifierPooling.Pooler), numLabels, pooling)
    {
    }

    /// <summary>
    /// Creates a classifier over <paramref name="encoder"/> (for example a pretrained one); the classifier owns it from
    /// now on. The new head takes the encoder's training/evaluation mode, so a classifier over a loaded encoder (eval
    /// mode) is in eval mode as a whole.
    /// </summary>
    /// <param name="encoder">The encoder; it needs a pooler when <paramref name="pooling"/> is <see cref="BertClassifierPooling.Pooler"/>.</param>
    /// <param name="numLabels">Number of classes (at least 2), or 1 for a single score (a reward model, as HF's num_labels = 1).</param>
    /// <param name="pooling">How token states become one vector per sequence.</param>
    public BertForSequenceClassification(BertModel encoder, int numLabels, BertClassifierPooling pooling = BertClassifierPooling.Pooler)
        : base(nameof(BertForSequenceClassification))
    {
        ArgumentNullException.ThrowIfNull(encoder);
        ArgumentOutOfRangeException.ThrowIfLessThan(numLabels, 1);
        if (!Enum.IsDefined(pooling)) throw new ArgumentOutOfRangeException(nameof(pooling));
        if (pooling == BertClassifierPooling.Pooler && !encoder.HasPooler) throw new ArgumentException("Pooler pooling needs an encoder with a pooling layer.", nameof(encoder));
        bert = encoder;
        NumLabels = numLabels;
        Pooling = pooling;
        dropout = nn.Dropout(encoder.Config.HiddenDropoutProb);
        classifier = nn.Linear(encoder.Config.HiddenSize, numLabels);
        RegisterComponents();
        train(encoder.training);
        DefaultObjective = new SequenceClassificationObjective(encoder.Config.PadTokenId);
    }

    /// <summary>Number of classes.</summary>
    public int NumLabels { get; }

    /// <summary>How token states are pooled.</summary>
    public BertClassifierPooling Pooling { get; }

    /// <summary>The encoder (owned by this classifier).</summary>
    public BertModel Encoder => bert;

    /// <inheritdoc />
    public string? NameOrPath { get; set; }

    /// <inheritdoc />
    public string TaskType => Adapters.PeftTaskTypes.SequenceClassification;

    /// <inheritdoc />
    public nn.Module Module => this;

    /// <inheritdoc />
    public ITrainingObjective<TextClassificationExample> DefaultObjective { get; }

    /// <summary>Computes class logits.</summary>
    /// <param name="inputIds">Token ids, int64 [batch, seq].</param>
    /// <param name="attentionMask">1 for tokens, 0 for padding, [batch, seq].</param>
    /// <param name="tokenTypeIds">Segment ids, int64 [batch, seq].</param>
    /// <returns>Logits [batch, num_labels].</returns>
    public override Tensor forward(Tensor inputIds, Tensor attentionMask, Tensor tokenTypeIds)
    {
        using var scope = NewDisposeScope();
        Tensor hidden = bert.forward(inputIds, attentionMask, tokenTypeIds);
        Tensor pooled = Pooling switch
        {
            BertClassifierPooling.Pooler => bert.Pool(hidden),
            BertClassifierPooling.Cls => BertPooling.Cls(hidden),
            _ => BertPooling.Mean(hidden, attentionMask),
        };
        return classifier.forward(dropout.forward(pooled)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The most likely label of each example: batched, without gradients, in evaluation mode (the previous mode is
    /// restored afterwards).
    /// </summary>
    public int[] Predict(IReadOnlyList<TextClassificationExample> examples, int batchSize = 32)
    {
        ArgumentNullException.ThrowIfNull(examples);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        bool wasTraining = training;
        eval();
        try
        {
            using var noGrad = no_grad();
            Device device = parameters().First().device;
            var predictions = new int[examples.Count];
            for (int start = 0; start < examples.Count; start += batchSize)
            {
                using var scope = NewDisposeScope();
                TextClassificationExample[] batch = examples.Skip(start).Take(batchSize).ToArray();
                int length = batch.Max(e => e.InputIds.Count);
                (long[] ids, long[] mask, long[] types) = BertBatch.Pad(batch.Select(e => e.InputIds).ToArray(), null, length, 0);
                Tensor logits = forward(tensor(ids, batch.Length, length, device: device), tensor(mask, batch.Length, length, device: device),
                    tensor(types, batch.Length, length, device: device));
                long[] best = logits.argmax(-1).cpu().data<long>().ToArray();
                for (int i = 0; i < best.Length; i++) predictions[start + i] = (int)best[i];
            }
            return predictions;
        }
        finally
        {
            train(wasTraining);
        }
    }
}

using System;
using System.Linq;
using FineTuning.Adapters;
using FineTuning.Models;
using FineTuning.Models.Llama;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuning.Rlhf.Rewards;

/// <summary>
/// A reward model on a causal LM, as Hugging Face's <c>LlamaForSequenceClassification</c> (with <c>num_labels=1</c> it is
/// what TRL's <c>RewardTrainer</c> trains): the decoder stack of a <see cref="LlamaForCausalLM"/> plus a linear
/// <c>score</c> head (no bias) read at the last non-padding token of each sequence. State-dict keys are HF's
/// (<c>model.layers.{i}...</c>, <c>score.weight</c>; the backbone's <c>lm_head</c> is not part of it).
/// <c>forward(input_ids, attention_mask, token_type_ids)</c> returns [batch, num_labels]; token types are ignored.
/// Train it with <see cref="BradleyTerryObjective"/>, use it in GRPO/RLOO through <see cref="RewardModelReward"/>; with
/// LoRA give <c>ModulesToSave = ["score"]</c> so that the head trains and is saved with the adapter (PEFT's
/// <c>SEQ_CLS</c> task type).
/// </summary>
public sealed class LlamaForSequenceClassification : nn.Module<Tensor, Tensor, Tensor, Tensor>, IPretrainedModel
{
    private readonly LlamaForCausalLM _backbone;
    private readonly nn.Module<Tensor, Tensor> _score; // a Module field so that adapters can replace the head

    /// <summary>
    /// Puts a new <c>score</c> head (normal(0, <paramref name="std"/>) weights, HF's initialisation) on
    /// <paramref name="backbone"/>, which this model takes over: its decoder is shared, not copied, and disposing this model
    /// disposes the backbone.
    /// </summary>
    /// <param name="backbone">A loaded causal LM (e.g. from <c>HfCheckpoint</c> or <c>Llama2CCheckpoint</c>).</param>
    /// <param name="numLabels">Outputs of the head; 1 for a reward model.</param>
    /// <param name="generator">Random source of the head's initial weights (null: TorchSharp's default generator).</param>
    /// <param name="std">Standard deviation of the head's initial weights (HF's <c>initializer_range</c>).</param>
    public LlamaForSequenceClassification(LlamaForCausalLM backbone, int numLabels = 1, Generator? generator = null, double std = 0.02)
        : base(nameof(LlamaForSequenceClassification))
    {
        ArgumentNullException.ThrowIfNull(backbone);
        ArgumentOutOfRangeException.ThrowIfLessThan(numLabels, 1);
        _backbone = backbone;
        NameOrPath = backbone.NameOrPath;
        Parameter embedding = backbone.parameters().First();
        Linear score = nn.Linear(backbone.Config.HiddenSize, numLabels, hasBias: false, device: embedding.device, dtype: embedding.dtype);
        using (no_grad()) score.weight!.normal_(0, std, generator);
        _score = score;
        NumLabels = numLabels;
        // Registered by hand under HF's names: the decoder is the backbone's own "model" child.
        register_module("model", backbone.named_children().Single(c => c.name == "model").module);
        register_module("score", _score);
    }

    /// <summary>Outputs per sequence (HF's <c>num_labels</c>).</summary>
    public int NumLabels { get; }

    /// <summary>The causal LM whose decoder this model reads.</summary>
    public LlamaForCausalLM Backbone => _backbone;

    /// <inheritdoc />
    public string? NameOrPath { get; set; }

    /// <inheritdoc />
    public string TaskType => PeftTaskTypes.SequenceClassification;

    /// <summary>Scores [batch, num_labels] read at each row's last token whose mask is 1 (left or right padding).</summary>
    /// <param name="inputIds">Token ids [batch, seq] (int64).</param>
    /// <param name="attentionMask">[batch, seq], 1 for tokens and 0 for padding; every row needs at least one token.</param>
    /// <param name="tokenTypeIds">Ignored (LLaMA has no token types); part of the reward-model signature.</param>
    public override Tensor forward(Tensor inputIds, Tensor attentionMask, Tensor tokenTypeIds)
    {
        ArgumentNullException.ThrowIfNull(inputIds);
        ArgumentNullException.ThrowIfNull(attentionMask);
        if (!attentionMask.shape.SequenceEqual(inputIds.shape))
            throw new ArgumentException($"attention_mask [{string.Join(", ", attentionMask.shape)}] must have the shape of input_ids [{string.Join(", ", inputIds.shape)}].", nameof(attentionMask));
        using var scope = NewDisposeScope();
        Tensor mask = attentionMask.to(ScalarType.Int64);
        if (mask.sum(new long[] { 1 }).eq(0).any().item<bool>())
            throw new ArgumentException("A row of attention_mask has no token to score.", nameof(attentionMask));
        Tensor hidden = _backbone.HiddenStates(inputIds, mask);
        long batch = hidden.shape[0], seq = hidden.shape[1], size = hidden.shape[2];
        // (t + 1) * mask is largest at the last real token, wherever the padding is.
        Tensor last = mask.mul(arange(1, seq + 1, ScalarType.Int64, mask.device)).argmax(1);
        Tensor pooled = hidden.gather(1, last.view(batch, 1, 1).expand(batch, 1, size)).squeeze(1);
        return _score.call(pooled).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing) _backbone.Dispose();
    }
}

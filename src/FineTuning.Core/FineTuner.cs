using System;
using System.Collections.Generic;
using FineTuning.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning;

/// <summary>
/// The entry point: <c>FineTuner.For(model)</c> returns an immutable builder; each <c>With*</c> returns a new one;
/// <c>Train(data)</c> runs. No tensor is touched before <c>Train</c>.
/// </summary>
public static class FineTuner
{
    /// <summary>Fine-tunes a model that knows its own objective (e.g. a causal LM or a classifier).</summary>
    public static FineTuner<TExample> For<TExample>(IFineTunable<TExample> model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return For(model.Module, model.DefaultObjective);
    }

    /// <summary>
    /// Supervised fine-tuning of a causal LM from a data file in one chain, as TRL's <c>SFTTrainer</c>:
    /// <c>FineTuner.ForSft(model, tokenizer).WithLoRA(r: 8, alpha: 16).Train("data.jsonl")</c> (see <see cref="Sft.SftTuner"/>).
    /// </summary>
    /// <param name="model">A causal LM, e.g. <c>LlamaForCausalLM</c> or <c>Gpt2LMHeadModel</c>.</param>
    /// <param name="tokenizer">Its tokenizer.</param>
    /// <returns>The SFT builder.</returns>
    public static Sft.SftTuner ForSft(IFineTunable<Models.TokenSequence> model, Models.Tokenizers.ITokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        int? context = model.Module switch
        {
            Models.Llama.LlamaForCausalLM llama => llama.Config.MaxPositionEmbeddings,
            Models.Gpt2.Gpt2LMHeadModel gpt2 => gpt2.Config.NPositions,
            _ => null,
        };
        return new Sft.SftTuner(For(model), tokenizer, context);
    }

    /// <summary>Fine-tunes any TorchSharp module with the given objective.</summary>
    public static FineTuner<TExample> For<TExample>(nn.Module model, ITrainingObjective<TExample> objective)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(objective);
        FineTuningRuntime.EnsureLoaded();
        return new FineTuner<TExample>(model, objective);
    }

    /// <summary>
    /// Fine-tunes any TorchSharp module with a loss function of your own: <paramref name="summedLoss"/> returns the
    /// loss summed over the examples' targets, and <paramref name="countTargets"/> says how many targets that is
    /// (default: one per example). See <see cref="LossFunctionObjective{TExample}"/>.
    /// </summary>
    public static FineTuner<TExample> For<TExample>(
        nn.Module model,
        Func<nn.Module, IReadOnlyList<TExample>, Device, Tensor> summedLoss,
        Func<IReadOnlyList<TExample>, long>? countTargets = null) =>
        For(model, new LossFunctionObjective<TExample>(summedLoss, countTargets));
}

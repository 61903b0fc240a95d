using System;
using System.Collections.Generic;
using System.Linq;
using FineTuning.Models;
using FineTuning.Models.Tokenizers;

namespace FineTuning.Evaluation;

/// <summary>
/// Measures catastrophic forgetting: the perplexity of the model on general text (text unlike the training data, that
/// the base model handles well) before and after training. For runs with adapters that can be disabled (LoRA) "before"
/// is the same model with its adapters disabled, measured at the end (no second copy of the weights); otherwise it is
/// measured before the first step. When the perplexity grows by more than <see cref="MaxRelativeIncrease"/>, the run
/// gets a <c>forgetting</c> warning. Set it as <see cref="EvaluationOptions.Forgetting"/>; the model must map token ids
/// to logits (a causal LM).
/// </summary>
public sealed class ForgettingCheck
{
    /// <summary>Creates the check over a copy of <paramref name="generalText"/>.</summary>
    /// <param name="generalText">Token sequences of general text (every labelled token counts in the perplexity).</param>
    /// <exception cref="ArgumentException">The list is empty, holds a null or has no labelled token.</exception>
    public ForgettingCheck(IReadOnlyList<TokenSequence> generalText)
    {
        ArgumentNullException.ThrowIfNull(generalText);
        if (generalText.Count == 0) throw new ArgumentException("The general-text set is empty.", nameof(generalText));
        if (generalText.Any(s => s is null)) throw new ArgumentException("The general-text set holds a null sequence.", nameof(generalText));
        if (generalText.All(s => s.TargetCount == 0)) throw new ArgumentException("The general-text set has no labelled token after the first position of any sequence.", nameof(generalText));
        GeneralText = generalText.ToArray();
    }

    /// <summary>The general text, tokenized.</summary>
    public IReadOnlyList<TokenSequence> GeneralText { get; }

    /// <summary>Warn when the perplexity after training exceeds the one before by more than this fraction. Default 0.1 (10 %).</summary>
    public double MaxRelativeIncrease { get; set; } = 0.1;

    /// <summary>Sequences per forward pass. Default 8.</summary>
    public int BatchSize { get; set; } = 8;

    /// <summary>
    /// Also measure the perplexity of the current model on the general text at every validation (step 0 included, so
    /// only with <c>WithValidation</c>), as the metric <see cref="MetricNames.GeneralPerplexity"/>: forgetting over the
    /// steps, charted in the report. Default true; set false when the general-text set is expensive to evaluate.
    /// </summary>
    public bool EveryEvaluation { get; set; } = true;

    /// <summary>
    /// A check over <paramref name="texts"/>, each encoded with <paramref name="tokenizer"/> (BOS first) and cut to
    /// <paramref name="maxTokens"/> tokens; every token after the first is a target.
    /// </summary>
    /// <exception cref="ArgumentException">No text gives two tokens or more.</exception>
    public static ForgettingCheck FromText(IEnumerable<string> texts, ITokenizer tokenizer, int maxTokens = 256)
    {
        ArgumentNullException.ThrowIfNull(texts);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxTokens, 2);
        var sequences = new List<TokenSequence>();
        foreach (string text in texts)
        {
            ArgumentNullException.ThrowIfNull(text, nameof(texts));
            long[] ids = tokenizer.Encode(text, addBos: true).Take(maxTokens).Select(i => (long)i).ToArray();
            if (ids.Length >= 2) sequences.Add(TokenSequence.ForLanguageModeling(ids));
        }
        if (sequences.Count == 0) throw new ArgumentException("No general text encodes to two tokens or more.", nameof(texts));
        return new ForgettingCheck(sequences);
    }

    internal ForgettingCheck Clone() => (ForgettingCheck)MemberwiseClone();

    internal IEnumerable<string> Validate()
    {
        if (!(MaxRelativeIncrease >= 0) || double.IsInfinity(MaxRelativeIncrease))
            yield return $"ForgettingCheck.MaxRelativeIncrease must be a finite number >= 0 (was {MaxRelativeIncrease}).";
        if (BatchSize < 1) yield return $"ForgettingCheck.BatchSize must be at least 1 (was {BatchSize}).";
    }
}

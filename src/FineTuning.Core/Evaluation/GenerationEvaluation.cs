using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;
using FineTuning.Generation;
using FineTuning.Models.Tokenizers;

namespace FineTuning.Evaluation;

/// <summary>
/// A generation evaluation set: the model completes each prompt with <see cref="TextGenerator"/> (greedy, at most
/// <see cref="GenerationOptions.MaxNewTokens"/> tokens by default 32) before training and at the end of the run, and the
/// outputs are scored by exact match against the references, by a scorer of your own, and by a format check.
/// Set it as <see cref="EvaluationOptions.Generation"/>; the model must be an <see cref="ICausalLanguageModel"/>.
/// </summary>
public sealed class GenerationEvaluation
{
    /// <summary>Creates the evaluation over a copy of <paramref name="examples"/>.</summary>
    /// <param name="examples">The prompts (and references), at least one.</param>
    /// <param name="tokenizer">The model's tokenizer.</param>
    /// <exception cref="ArgumentException">The list is empty or holds a null example or prompt.</exception>
    public GenerationEvaluation(IReadOnlyList<GenerationExample> examples, ITokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(examples);
        ArgumentNullException.ThrowIfNull(tokenizer);
        if (examples.Count == 0) throw new ArgumentException("The generation evaluation set is empty.", nameof(examples));
        int bad = examples.ToList().FindIndex(e => e?.Prompt is null);
        if (bad >= 0) throw new ArgumentException($"Generation example {bad} is null or has a null prompt.", nameof(examples));
        Examples = examples.ToArray();
        Tokenizer = tokenizer;
    }

    /// <summary>The prompts and references.</summary>
    public IReadOnlyList<GenerationExample> Examples { get; }

    /// <summary>The tokenizer the prompts are encoded with.</summary>
    public ITokenizer Tokenizer { get; }

    /// <summary>Decoding options; default greedy (temperature 0) with at most 32 new tokens.</summary>
    public GenerationOptions Options { get; set; } = new() { MaxNewTokens = 32 };

    /// <summary>Your metric: gets the prompt and the output, returns a number (e.g. 1 for right, 0 for wrong); reported as the mean <c>score</c>.</summary>
    public Func<string, string, double>? Scorer { get; set; }

    /// <summary>Whether an output follows the expected format; reported as <c>format_rate</c>. See also <see cref="FormatPattern"/>.</summary>
    public Func<string, bool>? FormatCheck { get; set; }

    /// <summary>A regular expression the output must match to follow the format (used when <see cref="FormatCheck"/> is null).</summary>
    public Regex? FormatPattern { get; set; }

    /// <summary>Prompts generated together as one left-padded batch. Default 8.</summary>
    public int BatchSize { get; set; } = 8;

    internal GenerationEvaluation Clone()
    {
        var copy = (GenerationEvaluation)MemberwiseClone();
        copy.Options = Options?.Clone()!;
        return copy;
    }

    internal Func<string, bool>? Format => FormatCheck ?? (FormatPattern is { } regex ? regex.IsMatch : null);

    internal IEnumerable<string> Validate()
    {
        if (Options is null) yield return "GenerationEvaluation.Options must be set.";
        else
        {
            string? problem = null;
            try
            {
                Options.Validate();
            }
            catch (ArgumentException e)
            {
                problem = "GenerationEvaluation.Options: " + e.Message;
            }
            if (problem is not null) yield return problem;
        }
        if (BatchSize < 1) yield return $"GenerationEvaluation.BatchSize must be at least 1 (was {BatchSize}).";
        if (FormatCheck is not null && FormatPattern is not null) yield return "GenerationEvaluation: set FormatCheck or FormatPattern, not both.";
        if (Scorer is null && Format is null && Examples.All(e => e.Reference is null))
            yield return "GenerationEvaluation measures nothing: give references (exact match), a Scorer or a format check.";
    }
}

using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;

namespace FineTuning.Evaluation;

/// <summary>
/// "Should you fine-tune at all?": the base model (adapters disabled, or the model before the first step) prompted with
/// k worked examples in front of each evaluation prompt, scored with the same <see cref="EvaluationOptions.Generation"/>
/// metrics on the same set, and reported next to the fine-tuned model's result with the time and memory of each
/// (<see cref="PromptingBaselineReport"/>). Each shot is written as its prompt, its reference and <see cref="Separator"/>.
/// </summary>
public sealed class PromptingBaseline
{
    /// <summary>Creates the baseline with a copy of <paramref name="shots"/> (usually k examples of the training set).</summary>
    /// <exception cref="ArgumentException">No shot, or a shot without a reference.</exception>
    public PromptingBaseline(IReadOnlyList<GenerationExample> shots)
    {
        ArgumentNullException.ThrowIfNull(shots);
        if (shots.Count == 0) throw new ArgumentException("A prompting baseline needs at least one example to put in the prompt.", nameof(shots));
        int bad = shots.ToList().FindIndex(s => s?.Prompt is null || s.Reference is null);
        if (bad >= 0) throw new ArgumentException($"Shot {bad} is null or lacks a prompt or a reference: each shot shows a prompt and its answer.", nameof(shots));
        Shots = shots.ToArray();
    }

    /// <summary>The worked examples put in front of each prompt.</summary>
    public IReadOnlyList<GenerationExample> Shots { get; }

    /// <summary>Written after each shot. Default a blank line.</summary>
    public string Separator { get; set; } = "\n\n";

    /// <summary>The few-shot prompt for <paramref name="prompt"/>.</summary>
    public string Prompt(string prompt)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        var text = new StringBuilder();
        foreach (GenerationExample shot in Shots) text.Append(shot.Prompt).Append(shot.Reference).Append(Separator);
        return text.Append(prompt).ToString();
    }

    internal PromptingBaseline Clone() => (PromptingBaseline)MemberwiseClone();
}

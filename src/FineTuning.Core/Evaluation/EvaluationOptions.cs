using System.Collections.Generic;

namespace FineTuning.Evaluation;

/// <summary>
/// What a run measures besides the validation loss (<c>WithEvaluation</c>). Task metrics and the overfitting check are
/// on by default whenever a validation set is given; generation metrics, forgetting and the prompting baseline are
/// opt-in because they need data of their own. See docs/evaluation.md.
/// </summary>
public sealed class EvaluationOptions
{
    /// <summary>
    /// Measure the objective's task metrics (accuracy, macro-F1 and the confusion matrix for classifiers,
    /// <c>mean_token_accuracy</c> for causal LMs) in the validation pass, when the objective implements
    /// <see cref="IEvaluatingObjective{TExample}"/>. Default true.
    /// </summary>
    public bool TaskMetrics { get; set; } = true;

    /// <summary>
    /// Raise an <c>overfitting</c> warning when the validation loss rose for this many consecutive evaluations while the
    /// training loss fell; 0 turns the check off. Default 2.
    /// </summary>
    public int OverfittingPatience { get; set; } = 2;

    /// <summary>Generation metrics (exact match, a scorer, format following) before training and at the end. Default none.</summary>
    public GenerationEvaluation? Generation { get; set; }

    /// <summary>Perplexity on general text before and after training, with a threshold. Default none.</summary>
    public ForgettingCheck? Forgetting { get; set; }

    /// <summary>Few-shot prompting of the base model, scored like <see cref="Generation"/> (which it needs). Default none.</summary>
    public PromptingBaseline? PromptingBaseline { get; set; }

    internal EvaluationOptions Clone()
    {
        var copy = (EvaluationOptions)MemberwiseClone();
        copy.Generation = Generation?.Clone();
        copy.Forgetting = Forgetting?.Clone();
        copy.PromptingBaseline = PromptingBaseline?.Clone();
        return copy;
    }

    internal IEnumerable<string> Validate()
    {
        if (OverfittingPatience < 0) yield return $"OverfittingPatience must not be negative (was {OverfittingPatience}).";
        if (Generation is not null) foreach (string p in Generation.Validate()) yield return p;
        if (Forgetting is not null) foreach (string p in Forgetting.Validate()) yield return p;
        if (PromptingBaseline is not null && Generation is null) yield return "PromptingBaseline needs Generation: it is scored with the same generation metrics on the same set.";
        if (PromptingBaseline is { Separator: null }) yield return "PromptingBaseline.Separator must not be null.";
    }
}

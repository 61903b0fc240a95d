namespace FineTuning.Evaluation;

/// <summary>
/// The keys of <see cref="Training.EvaluationMetrics.Metrics"/> that the library fills, named as TRL / Hugging Face log
/// them where such a name exists.
/// </summary>
public static class MetricNames
{
    /// <summary>Fraction of examples classified correctly.</summary>
    public const string Accuracy = "accuracy";

    /// <summary>Unweighted mean of the per-class F1 scores.</summary>
    public const string MacroF1 = "macro_f1";

    /// <summary>Fraction of labelled tokens whose most likely prediction is the label (TRL's SFT metric).</summary>
    public const string MeanTokenAccuracy = "mean_token_accuracy";

    /// <summary>Fraction of generations equal to their reference (after trimming white space).</summary>
    public const string ExactMatch = "exact_match";

    /// <summary>Mean of the user's scorer over the generations.</summary>
    public const string Score = "score";

    /// <summary>Fraction of generations that follow the expected format.</summary>
    public const string FormatRate = "format_rate";

    /// <summary>Mean training loss of the steps since the previous evaluation.</summary>
    public const string TrainLoss = "train_loss";

    /// <summary>Validation loss minus <see cref="TrainLoss"/>: how much worse the model does on data it did not train on.</summary>
    public const string GeneralizationGap = "generalization_gap";

    /// <summary>
    /// Perplexity of the current model on the general text of <see cref="ForgettingCheck"/>, recorded at every
    /// evaluation with <see cref="ForgettingCheck.EveryEvaluation"/>: forgetting over the steps.
    /// </summary>
    public const string GeneralPerplexity = "general_perplexity";

    /// <summary>Mean implicit reward of the chosen completions (preference objectives; TRL's DPOTrainer name).</summary>
    public const string RewardsChosen = "rewards/chosen";

    /// <summary>Mean implicit reward of the rejected completions (preference objectives; TRL's DPOTrainer name).</summary>
    public const string RewardsRejected = "rewards/rejected";

    /// <summary>Fraction of pairs whose chosen reward is above the rejected one (preference objectives; TRL's DPOTrainer name).</summary>
    public const string RewardsAccuracies = "rewards/accuracies";

    /// <summary>Mean of chosen minus rejected reward over the pairs (preference objectives and reward models; TRL's DPOTrainer name).</summary>
    public const string RewardsMargins = "rewards/margins";
}

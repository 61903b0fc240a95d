using System;

namespace FineTuning.Evaluation;

/// <summary>The prompting baseline next to the fine-tuned model, scored the same way on the same set.</summary>
/// <param name="Shots">Worked examples in each few-shot prompt.</param>
/// <param name="Prompting">The base model with the few-shot prompts (its <see cref="GenerationReport.Elapsed"/> and memory are the cost of prompting).</param>
/// <param name="FineTuned">The fine-tuned model with the plain prompts.</param>
/// <param name="TrainingTime">Wall time of the training run: the extra cost of fine-tuning.</param>
public sealed record PromptingBaselineReport(int Shots, GenerationReport Prompting, GenerationReport FineTuned, TimeSpan TrainingTime);

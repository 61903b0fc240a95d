namespace FineTuning.Evaluation;

/// <summary>One prompt of a generation evaluation set, with the output expected for it.</summary>
/// <param name="Prompt">The text the model continues (as it will be prompted in use, template included).</param>
/// <param name="Reference">The expected output, for exact match (and for few-shot prompts); null when only a scorer or a format check applies.</param>
public sealed record GenerationExample(string Prompt, string? Reference = null);

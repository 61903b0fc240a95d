namespace FineTuning.Evaluation;

/// <summary>What the model generated for one <see cref="GenerationExample"/>, and how it was scored.</summary>
/// <param name="Prompt">The evaluation prompt (without any few-shot prefix).</param>
/// <param name="Output">The generated text.</param>
/// <param name="Reference">The expected output, if any.</param>
/// <param name="ExactMatch">Whether the output equals the reference after trimming white space; null without a reference.</param>
/// <param name="Score">The user scorer's value; null without a scorer.</param>
/// <param name="FollowsFormat">Whether the format check accepted the output; null without a format check.</param>
public sealed record GeneratedOutput(string Prompt, string Output, string? Reference, bool? ExactMatch, double? Score, bool? FollowsFormat);

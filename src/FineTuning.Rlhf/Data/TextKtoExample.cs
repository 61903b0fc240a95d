namespace FineTuning.Rlhf.Data;

/// <summary>An unpaired preference as text: <c>{"prompt", "completion", "label"}</c> (TRL's unpaired format).</summary>
/// <param name="Prompt">The prompt.</param>
/// <param name="Completion">The completion.</param>
/// <param name="Desirable">True for a good completion.</param>
public sealed record TextKtoExample(string Prompt, string Completion, bool Desirable);

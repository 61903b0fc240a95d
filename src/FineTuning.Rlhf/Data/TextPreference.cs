namespace FineTuning.Rlhf.Data;

/// <summary>A preference as text: <c>{"prompt", "chosen", "rejected"}</c> (TRL's standard preference format).</summary>
/// <param name="Prompt">The prompt (may be empty).</param>
/// <param name="Chosen">The preferred completion.</param>
/// <param name="Rejected">The dispreferred completion.</param>
public sealed record TextPreference(string Prompt, string Chosen, string Rejected);

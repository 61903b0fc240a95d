namespace FineTuning.Data;

/// <summary>One chat turn.</summary>
/// <param name="Role">Who speaks.</param>
/// <param name="Content">The text.</param>
/// <param name="Weight">OpenAI's per-message weight: 0 = do not learn this assistant message, 1 = learn it, null = default.</param>
public sealed record ChatMessage(ChatRole Role, string Content, int? Weight = null);

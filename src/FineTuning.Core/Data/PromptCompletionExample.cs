namespace FineTuning.Data;

/// <summary>A prompt and the completion to learn (<c>{"prompt": ..., "completion": ...}</c>).</summary>
/// <param name="Prompt">Text the model sees.</param>
/// <param name="Completion">Text the model learns to produce.</param>
public sealed record PromptCompletionExample(string Prompt, string Completion)
{
    /// <summary>The same pair as a user/assistant exchange.</summary>
    /// <returns>The conversation.</returns>
    public ChatExample ToChat() => ChatExample.Exchange(Prompt, Completion);
}

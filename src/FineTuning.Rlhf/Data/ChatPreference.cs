using FineTuning.Data;

namespace FineTuning.Rlhf.Data;

/// <summary>A preference over chat (OpenAI's preference fine-tuning format): a conversation and two assistant replies.</summary>
/// <param name="Input">The conversation so far (system/user/assistant messages).</param>
/// <param name="Preferred">The preferred assistant reply.</param>
/// <param name="NonPreferred">The dispreferred assistant reply.</param>
public sealed record ChatPreference(ChatExample Input, string Preferred, string NonPreferred);

namespace FineTuning.Data;

/// <summary>Which tokens of a rendered conversation carry labels (the rest get -100).</summary>
public enum LossScope
{
    /// <summary>Every assistant message's content and end-of-turn token (the default); an assistant message with OpenAI <c>weight: 0</c> is not learned.</summary>
    AssistantTurns = 0,

    /// <summary>The last assistant message only (earlier answers are context); <c>weight: 0</c> still excludes it.</summary>
    LastAssistantTurn = 1,

    /// <summary>Every token, markup and prompts included (plain language modelling of the rendered text).</summary>
    AllTokens = 2,
}

namespace FineTuning.Generation;

/// <summary>Token counts and the end reason of one generation, filled in as it runs (see <see cref="TextGenerator.ChatStream"/>).</summary>
public sealed class GenerationUsage
{
    /// <summary>Tokens of the prompt fed to the model.</summary>
    public int PromptTokens { get; internal set; }

    /// <summary>Tokens generated (a stop token excluded; the token that completed a stop string included).</summary>
    public int GeneratedTokens { get; internal set; }

    /// <summary>True when generation ended because <see cref="GenerationOptions.MaxNewTokens"/> was reached rather than at a stop token or stop string.</summary>
    public bool ReachedMaxTokens { get; internal set; }

    /// <summary>True once the generation has ended (the stream was enumerated to its end).</summary>
    public bool Completed { get; internal set; }
}

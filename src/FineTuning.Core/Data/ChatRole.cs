namespace FineTuning.Data;

/// <summary>Who speaks a chat message.</summary>
public enum ChatRole
{
    /// <summary>Instructions that frame the conversation.</summary>
    System = 0,

    /// <summary>The human side.</summary>
    User = 1,

    /// <summary>The model side: what fine-tuning teaches.</summary>
    Assistant = 2,
}

namespace FineTuning.Extensions.AI;

/// <summary>Settings of a <see cref="FineTuningChatClient"/> that no single request carries.</summary>
public sealed class FineTuningChatClientOptions
{
    /// <summary>The model id reported in responses and metadata (e.g. the checkpoint folder's name). Default "fine-tuned".</summary>
    public string ModelId { get; set; } = "fine-tuned";

    /// <summary>Most tokens of a reply when the request's <c>ChatOptions.MaxOutputTokens</c> is not set. Default 256.</summary>
    public int DefaultMaxOutputTokens { get; set; } = 256;
}

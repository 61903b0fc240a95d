using System;
using System.Collections.Generic;
using System.Linq;
using FineTuning.Generation;
using Microsoft.Extensions.AI;
using FtChatMessage = FineTuning.Data.ChatMessage;
using FtChatRole = FineTuning.Data.ChatRole;

namespace FineTuning.Extensions.AI;

/// <summary>
/// A Microsoft.Extensions.AI request in FineTuning's terms: the conversation as <see cref="FtChatMessage"/>s and the
/// <see cref="ChatOptions"/> as <see cref="GenerationOptions"/>. What the local model cannot do (tools, penalties, JSON
/// mode, non-text content) is refused rather than ignored.
/// </summary>
internal sealed record ChatRequest(IReadOnlyList<FtChatMessage> Messages, GenerationOptions Generation)
{
    internal static ChatRequest From(IEnumerable<ChatMessage> messages, ChatOptions? options, FineTuningChatClientOptions settings)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var converted = new List<FtChatMessage>();
        foreach (ChatMessage message in messages)
        {
            ArgumentNullException.ThrowIfNull(message, nameof(messages));
            if (message.Contents.Any(c => c is not TextContent))
            {
                string kinds = string.Join(", ", message.Contents.Where(c => c is not TextContent).Select(c => c.GetType().Name).Distinct());
                throw new NotSupportedException($"Message {converted.Count} holds {kinds}; only text content is supported yet.");
            }

            converted.Add(new FtChatMessage(Role(message.Role, converted.Count), message.Text));
        }

        if (converted.Count == 0) throw new ArgumentException("A chat request needs at least one message.", nameof(messages));
        return new ChatRequest(converted, ToGenerationOptions(options, settings));
    }

    private static FtChatRole Role(ChatRole role, int index)
    {
        if (role == ChatRole.System) return FtChatRole.System;
        if (role == ChatRole.User) return FtChatRole.User;
        if (role == ChatRole.Assistant) return FtChatRole.Assistant;
        throw new NotSupportedException($"Message {index} has role \"{role}\"; system, user and assistant are supported (tool messages are not supported yet).");
    }

    private static GenerationOptions ToGenerationOptions(ChatOptions? options, FineTuningChatClientOptions settings)
    {
        if (options is not null)
        {
            var unsupported = new List<string>();
            if (options.Tools is { Count: > 0 }) unsupported.Add("Tools (tool calling)");
            if (options.FrequencyPenalty is not null) unsupported.Add("FrequencyPenalty");
            if (options.PresencePenalty is not null) unsupported.Add("PresencePenalty");
            if (options.ResponseFormat is ChatResponseFormatJson) unsupported.Add("ResponseFormat JSON");
            if (unsupported.Count > 0) throw new NotSupportedException($"ChatOptions {string.Join(", ", unsupported)}: not supported yet by the local model.");
        }

        var generation = new GenerationOptions
        {
            MaxNewTokens = options?.MaxOutputTokens ?? settings.DefaultMaxOutputTokens,
            // No temperature means greedy decoding: the local model answers deterministically unless asked to sample.
            Temperature = options?.Temperature ?? 0,
            TopP = options?.TopP ?? 1.0,
            TopK = options?.TopK ?? 0,
            Seed = options?.Seed is long seed ? unchecked((ulong)seed) : null,
            StopStrings = options?.StopSequences?.ToArray() ?? Array.Empty<string>(),
        };
        generation.Validate();
        return generation;
    }
}

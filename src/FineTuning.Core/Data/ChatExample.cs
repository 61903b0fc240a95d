using System;
using System.Collections.Generic;
using System.Linq;

namespace FineTuning.Data;

/// <summary>A conversation: the common shape every instruction format is turned into before templating.</summary>
public sealed class ChatExample
{
    /// <summary>Creates a conversation (the list is copied).</summary>
    /// <param name="messages">The turns, in order.</param>
    public ChatExample(IEnumerable<ChatMessage> messages)
    {
        ArgumentNullException.ThrowIfNull(messages);
        Messages = messages.ToArray();
    }

    /// <summary>The turns, in order.</summary>
    public IReadOnlyList<ChatMessage> Messages { get; }

    /// <summary>A single exchange: optional system prompt, one user message, one assistant answer.</summary>
    /// <param name="user">The user's message.</param>
    /// <param name="assistant">The answer to learn.</param>
    /// <param name="system">Optional system prompt.</param>
    /// <returns>The conversation.</returns>
    public static ChatExample Exchange(string user, string assistant, string? system = null)
    {
        var messages = new List<ChatMessage>();
        if (system is not null) messages.Add(new ChatMessage(ChatRole.System, system));
        messages.Add(new ChatMessage(ChatRole.User, user));
        messages.Add(new ChatMessage(ChatRole.Assistant, assistant));
        return new ChatExample(messages);
    }
}

using System;
using System.Collections.Generic;

namespace FineTuning.Data.Templates;

/// <summary>
/// A user-defined template: every message is <c>{prefix}{content}{suffix}</c> per role, messages joined by
/// <see cref="Separator"/>; an assistant message ends with <see cref="AssistantEnd"/> and, when
/// <see cref="EndWithEos"/>, the EOS token (both trainable, so the model learns to stop).
/// All markup is plain text (no special tokens besides BOS/EOS).
/// </summary>
public sealed class CustomChatTemplate : IChatTemplate
{
    private IChatTemplate? _built;

    /// <summary>Name shown in reports.</summary>
    public string Name { get; init; } = "Custom";

    /// <summary>Whether the conversation starts with BOS (default true).</summary>
    public bool StartWithBos { get; init; } = true;

    /// <summary>Text before a system message.</summary>
    public string SystemPrefix { get; init; } = string.Empty;

    /// <summary>Text after a system message.</summary>
    public string SystemSuffix { get; init; } = "\n";

    /// <summary>Text before a user message.</summary>
    public string UserPrefix { get; init; } = "User: ";

    /// <summary>Text after a user message.</summary>
    public string UserSuffix { get; init; } = "\n";

    /// <summary>Text before an assistant message (the header the model is prompted with at generation).</summary>
    public string AssistantPrefix { get; init; } = "Assistant: ";

    /// <summary>Trainable text after an assistant message's content, before EOS.</summary>
    public string AssistantEnd { get; init; } = string.Empty;

    /// <summary>Whether an assistant message ends with the EOS token (default true).</summary>
    public bool EndWithEos { get; init; } = true;

    /// <summary>Untrainable text after an assistant message (after its end and EOS).</summary>
    public string AssistantSuffix { get; init; } = "\n";

    /// <summary>Text between messages.</summary>
    public string Separator { get; init; } = string.Empty;

    /// <inheritdoc />
    public IReadOnlyList<TemplateSegment> Render(ChatExample chat) => Built.Render(chat);

    /// <inheritdoc />
    public IReadOnlyList<TemplateSegment> RenderPrompt(ChatExample chat) => Built.RenderPrompt(chat);

    /// <inheritdoc />
    public override string ToString() => Name;

    private IChatTemplate Built => _built ??= Build();

    private IChatTemplate Build()
    {
        var assistantEnd = new List<MarkupPiece>();
        if (AssistantEnd.Length > 0) assistantEnd.Add(MarkupPiece.Plain(AssistantEnd));
        if (EndWithEos) assistantEnd.Add(MarkupPiece.Eos("</s>"));
        RoleMarkup system = Markup(SystemPrefix, Array.Empty<MarkupPiece>(), SystemSuffix);
        RoleMarkup user = Markup(UserPrefix, Array.Empty<MarkupPiece>(), UserSuffix);
        RoleMarkup assistant = Markup(AssistantPrefix, assistantEnd.ToArray(), AssistantSuffix);
        return new MarkupChatTemplate(Name,
            StartWithBos ? new[] { MarkupPiece.Bos("<s>") } : Array.Empty<MarkupPiece>(),
            role => role switch { ChatRole.System => system, ChatRole.User => user, _ => assistant },
            separator: Separator.Length > 0 ? new[] { MarkupPiece.Plain(Separator) } : null);
    }

    private static RoleMarkup Markup(string prefix, MarkupPiece[] end, string suffix) => new(
        prefix.Length > 0 ? new[] { MarkupPiece.Plain(prefix) } : Array.Empty<MarkupPiece>(),
        end,
        suffix.Length > 0 ? new[] { MarkupPiece.Plain(suffix) } : Array.Empty<MarkupPiece>());
}

using System;
using System.Collections.Generic;

namespace FineTuning.Data.Templates;

/// <summary>
/// A template where every message is <c>separator? header content end trailer</c>, with optional pieces at the
/// start (BOS) and after the last message. Covers ChatML, Llama-3, Zephyr, Phi-3, Alpaca and user-defined markup.
/// </summary>
internal sealed class MarkupChatTemplate : IChatTemplate
{
    private readonly MarkupPiece[] _start;
    private readonly Func<ChatRole, RoleMarkup> _roles;
    private readonly MarkupPiece[] _separator;
    private readonly MarkupPiece[] _suffix;
    private readonly bool _trimContent;

    internal MarkupChatTemplate(string name, MarkupPiece[] start, Func<ChatRole, RoleMarkup> roles,
        MarkupPiece[]? separator = null, MarkupPiece[]? suffix = null, bool trimContent = false)
    {
        Name = name;
        _start = start;
        _roles = roles;
        _separator = separator ?? Array.Empty<MarkupPiece>();
        _suffix = suffix ?? Array.Empty<MarkupPiece>();
        _trimContent = trimContent;
    }

    public string Name { get; }

    public IReadOnlyList<TemplateSegment> Render(ChatExample chat)
    {
        ArgumentNullException.ThrowIfNull(chat);
        List<TemplateSegment> segments = RenderMessages(chat, training: true);
        if (chat.Messages.Count > 0)
        {
            int last = chat.Messages.Count - 1;
            Add(segments, _suffix, last, chat.Messages[last].Role == ChatRole.Assistant);
        }

        return segments;
    }

    public IReadOnlyList<TemplateSegment> RenderPrompt(ChatExample chat)
    {
        ArgumentNullException.ThrowIfNull(chat);
        List<TemplateSegment> segments = RenderMessages(chat, training: false);
        int next = chat.Messages.Count;
        if (next > 0) Add(segments, _separator, next, false);
        Add(segments, _roles(ChatRole.Assistant).Header, next, false);
        return segments;
    }

    public override string ToString() => Name;

    private List<TemplateSegment> RenderMessages(ChatExample chat, bool training)
    {
        var segments = new List<TemplateSegment>();
        Add(segments, _start, -1, false);
        for (int i = 0; i < chat.Messages.Count; i++)
        {
            ChatMessage message = chat.Messages[i];
            bool learn = training && message.Role == ChatRole.Assistant;
            RoleMarkup markup = _roles(message.Role);
            if (i > 0) Add(segments, _separator, i, false);
            Add(segments, markup.Header, i, false);
            string content = _trimContent ? message.Content.Trim() : message.Content;
            if (content.Length > 0) segments.Add(new TemplateSegment(content, SegmentKind.Text, i, learn));
            Add(segments, markup.End, i, learn);
            Add(segments, markup.Trailer, i, false);
        }

        return segments;
    }

    private static void Add(List<TemplateSegment> segments, MarkupPiece[] pieces, int message, bool trainable)
    {
        foreach (MarkupPiece p in pieces) segments.Add(new TemplateSegment(p.Text, p.Kind, message, trainable));
    }
}

using System;
using System.Collections.Generic;
using System.Linq;
using FineTuning.Data;
using FineTuning.Data.Templates;
using FineTuning.Models.Tokenizers;

namespace FineTuning.Generation;

/// <summary>
/// What chat generation feeds the model and when it stops: the template's generation prompt (conversation + assistant
/// header) tokenised segment by segment exactly as <see cref="ChatLabeler"/> does in training, and the template's
/// end-of-turn markers (the trainable pieces after an assistant message's content) as stop tokens or stop strings.
/// </summary>
internal sealed record ChatPrompt(IReadOnlyList<int> Ids, IReadOnlyList<int> StopIds, IReadOnlyList<string> StopStrings)
{
    internal static ChatPrompt Create(IReadOnlyList<ChatMessage> messages, IChatTemplate template, ITokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(messages);
        ArgumentNullException.ThrowIfNull(template);
        if (messages.Count == 0) throw new ArgumentException("A chat needs at least one message.", nameof(messages));
        IReadOnlyDictionary<string, int> special = SpecialTokenIds.Of(tokenizer);
        var labeler = new ChatLabeler(template, tokenizer, new LabelingOptions { SpecialTokens = special });
        IReadOnlyList<int> ids = labeler.TokenizePrompt(new ChatExample(messages));

        var stopIds = new List<int> { tokenizer.EosId };
        var stopStrings = new List<string>();
        foreach (TemplateSegment end in EndOfTurn(template))
        {
            switch (end.Kind)
            {
                case SegmentKind.Eos:
                    break; // EOS is always a stop token
                case SegmentKind.SpecialToken when special.TryGetValue(end.Text, out int id):
                    stopIds.Add(id);
                    break;
                default:
                    // Markup the tokenizer has no single token for is generated as text: stop at its text.
                    if (end.Text.Trim().Length > 0) stopStrings.Add(end.Text);
                    break;
            }
        }

        return new ChatPrompt(ids, stopIds.Distinct().ToArray(), stopStrings.Distinct().ToArray());
    }

    /// <summary>The trainable segments that follow an assistant message's content: its end-of-turn markup.</summary>
    private static IEnumerable<TemplateSegment> EndOfTurn(IChatTemplate template)
    {
        const string Content = "\uE000"; // a private-use character no markup contains
        var probe = new ChatExample(new[] { new ChatMessage(ChatRole.User, "u"), new ChatMessage(ChatRole.Assistant, Content) });
        IReadOnlyList<TemplateSegment> segments = template.Render(probe);
        int content = -1;
        for (int i = 0; i < segments.Count; i++)
        {
            if (segments[i].MessageIndex == 1 && segments[i].Kind == SegmentKind.Text && segments[i].Text == Content) content = i;
        }

        return content < 0 ? Array.Empty<TemplateSegment>() : segments.Skip(content + 1).Where(s => s.MessageIndex == 1 && s.Trainable);
    }
}

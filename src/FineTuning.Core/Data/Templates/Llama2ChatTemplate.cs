using System;
using System.Collections.Generic;

namespace FineTuning.Data.Templates;

/// <summary>
/// Llama-2-chat, as Meta's reference code and HF's <c>chat_template</c>:
/// <c>&lt;s&gt;[INST] &lt;&lt;SYS&gt;&gt;\n{system}\n&lt;&lt;/SYS&gt;&gt;\n\n{user} [/INST] {assistant} &lt;/s&gt;&lt;s&gt;[INST] {user} [/INST] ...</c>
/// (contents stripped). Needs user/assistant alternation after an optional system message.
/// </summary>
internal sealed class Llama2ChatTemplate : IChatTemplate
{
    public string Name => "Llama-2";

    public IReadOnlyList<TemplateSegment> Render(ChatExample chat) => RenderCore(chat, training: true);

    public IReadOnlyList<TemplateSegment> RenderPrompt(ChatExample chat) => RenderCore(chat, training: false);

    public override string ToString() => Name;

    private static List<TemplateSegment> RenderCore(ChatExample chat, bool training)
    {
        ArgumentNullException.ThrowIfNull(chat);
        var s = new List<TemplateSegment>();
        IReadOnlyList<ChatMessage> messages = chat.Messages;
        int first = messages.Count > 0 && messages[0].Role == ChatRole.System ? 1 : 0;
        for (int i = first; i < messages.Count; i++)
        {
            ChatMessage m = messages[i];
            ChatRole expected = (i - first) % 2 == 0 ? ChatRole.User : ChatRole.Assistant;
            if (m.Role != expected)
            {
                throw new ChatTemplateException($"Llama-2's template needs an optional system message, then user and assistant turns alternating starting with user; message {i} is {m.Role}, expected {expected}.");
            }

            if (m.Role == ChatRole.User)
            {
                s.Add(new TemplateSegment("<s>", SegmentKind.Bos, i, false));
                s.Add(new TemplateSegment("[INST] ", SegmentKind.Text, i, false));
                if (i == first && first == 1)
                {
                    s.Add(new TemplateSegment("<<SYS>>\n", SegmentKind.Text, 0, false));
                    s.Add(new TemplateSegment(messages[0].Content, SegmentKind.Text, 0, false));
                    s.Add(new TemplateSegment("\n<</SYS>>\n\n", SegmentKind.Text, 0, false));
                }

                s.Add(new TemplateSegment(m.Content.Trim(), SegmentKind.Text, i, false));
                s.Add(new TemplateSegment(" [/INST]", SegmentKind.Text, i, false));
            }
            else
            {
                bool learn = training;
                s.Add(new TemplateSegment(" ", SegmentKind.Text, i, false));
                string content = m.Content.Trim();
                if (content.Length > 0) s.Add(new TemplateSegment(content, SegmentKind.Text, i, learn));
                s.Add(new TemplateSegment(" ", SegmentKind.Text, i, learn));
                s.Add(new TemplateSegment("</s>", SegmentKind.Eos, i, learn));
            }
        }

        // The generation prompt of Llama-2 is the conversation ending with "[/INST]": nothing to add.
        return s;
    }
}

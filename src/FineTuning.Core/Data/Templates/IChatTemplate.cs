using System.Collections.Generic;

namespace FineTuning.Data.Templates;

/// <summary>Renders conversations in one model family's chat markup; built-in ones are in <see cref="ChatTemplates"/>.</summary>
public interface IChatTemplate
{
    /// <summary>A short name (ChatML, Llama-3, ...).</summary>
    string Name { get; }

    /// <summary>The whole conversation for training: markup, content and end-of-turn tokens, as segments.</summary>
    /// <param name="chat">The conversation.</param>
    /// <returns>The segments in order.</returns>
    /// <exception cref="ChatTemplateException">The template cannot express the conversation (e.g. Llama-2 needs alternating user/assistant turns).</exception>
    IReadOnlyList<TemplateSegment> Render(ChatExample chat);

    /// <summary>The conversation followed by the header of an assistant turn, for generation (what HF calls <c>add_generation_prompt</c>).</summary>
    /// <param name="chat">The conversation so far (usually ending with a user message).</param>
    /// <returns>The segments in order; none of them is trainable.</returns>
    IReadOnlyList<TemplateSegment> RenderPrompt(ChatExample chat);
}

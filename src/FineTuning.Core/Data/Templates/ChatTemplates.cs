using System;
using static FineTuning.Data.Templates.MarkupPiece;

namespace FineTuning.Data.Templates;

/// <summary>
/// The built-in chat templates, written from each format's published chat_template / documentation.
/// Markers are <see cref="SegmentKind.SpecialToken"/> segments; BOS/EOS are emitted only where the
/// published template writes <c>bos_token</c>/<c>eos_token</c> (Hugging Face's <c>apply_chat_template</c>
/// adds no other special tokens), except Alpaca, which follows Stanford's training code (BOS from the
/// tokenizer, EOS after the response).
/// </summary>
public static class ChatTemplates
{
    /// <summary>ChatML (Qwen, OpenHermes, ...): <c>&lt;|im_start|&gt;{role}\n{content}&lt;|im_end|&gt;\n</c>.</summary>
    public static IChatTemplate ChatML { get; } = new MarkupChatTemplate("ChatML", Array.Empty<MarkupPiece>(),
        role => new RoleMarkup(new[] { Special("<|im_start|>"), Plain(RoleName(role) + "\n") }, new[] { Special("<|im_end|>") }, new[] { Plain("\n") }));

    /// <summary>Llama-3 instruct: <c>&lt;|begin_of_text|&gt;&lt;|start_header_id|&gt;{role}&lt;|end_header_id|&gt;\n\n{content}&lt;|eot_id|&gt;</c> (contents trimmed).</summary>
    public static IChatTemplate Llama3 { get; } = new MarkupChatTemplate("Llama-3", new[] { Bos("<|begin_of_text|>") },
        role => new RoleMarkup(
            new[] { Special("<|start_header_id|>"), Plain(RoleName(role)), Special("<|end_header_id|>"), Plain("\n\n") },
            new[] { Special("<|eot_id|>") },
            Array.Empty<MarkupPiece>()),
        trimContent: true);

    /// <summary>Llama-2-chat: <c>&lt;s&gt;[INST] &lt;&lt;SYS&gt;&gt;\n{system}\n&lt;&lt;/SYS&gt;&gt;\n\n{user} [/INST] {assistant} &lt;/s&gt;</c>.</summary>
    public static IChatTemplate Llama2 { get; } = new Llama2ChatTemplate();

    /// <summary>Zephyr: <c>&lt;|{role}|&gt;\n{content}&lt;/s&gt;\n</c> (EOS ends every turn).</summary>
    public static IChatTemplate Zephyr { get; } = new MarkupChatTemplate("Zephyr", Array.Empty<MarkupPiece>(),
        role => new RoleMarkup(new[] { Special($"<|{RoleName(role)}|>"), Plain("\n") }, new[] { Eos("</s>") }, new[] { Plain("\n") }));

    /// <summary>Phi-3 / Phi-3.5: <c>&lt;|{role}|&gt;\n{content}&lt;|end|&gt;\n</c>, then <c>&lt;|endoftext|&gt;</c> (EOS) after the last message.</summary>
    public static IChatTemplate Phi3 { get; } = new MarkupChatTemplate("Phi-3", Array.Empty<MarkupPiece>(),
        role => new RoleMarkup(new[] { Special($"<|{RoleName(role)}|>"), Plain("\n") }, new[] { Special("<|end|>") }, new[] { Plain("\n") }),
        suffix: new[] { Eos("<|endoftext|>") });

    /// <summary>
    /// Stanford Alpaca: <c>{preamble}\n\n### Instruction:\n{instruction}\n\n### Response:\n{output}&lt;/s&gt;</c>, BOS first.
    /// Use with <see cref="AlpacaExample.ToChat"/>, which puts the preamble in the system message and the input under <c>### Input:</c>.
    /// </summary>
    public static IChatTemplate Alpaca { get; } = new MarkupChatTemplate("Alpaca", new[] { Bos("<s>") },
        role => role switch
        {
            ChatRole.System => new RoleMarkup(Array.Empty<MarkupPiece>(), Array.Empty<MarkupPiece>(), Array.Empty<MarkupPiece>()),
            ChatRole.User => new RoleMarkup(new[] { Plain("### Instruction:\n") }, Array.Empty<MarkupPiece>(), Array.Empty<MarkupPiece>()),
            _ => new RoleMarkup(new[] { Plain("### Response:\n") }, new[] { Eos("</s>") }, Array.Empty<MarkupPiece>()),
        },
        separator: new[] { Plain("\n\n") });

    /// <summary>
    /// Picks the template whose markers a <c>tokenizer_config.json</c>'s <c>chat_template</c> clearly uses;
    /// otherwise (no template, no match, several matches) throws and asks the caller to choose.
    /// </summary>
    /// <param name="tokenizerConfigJson">The text of <c>tokenizer_config.json</c>.</param>
    /// <returns>The matching built-in template.</returns>
    /// <exception cref="ChatTemplateException">No single built-in template clearly matches.</exception>
    public static IChatTemplate FromTokenizerConfig(string tokenizerConfigJson) => ChatTemplateDetector.FromTokenizerConfig(tokenizerConfigJson);

    /// <summary>Like <see cref="FromTokenizerConfig"/> for a Jinja <c>chat_template</c> string; null when no single built-in template clearly matches.</summary>
    /// <param name="chatTemplate">The Jinja source.</param>
    /// <returns>The template, or null.</returns>
    public static IChatTemplate? Detect(string chatTemplate) => ChatTemplateDetector.Detect(chatTemplate, out _);

    internal static string RoleName(ChatRole role) => role switch
    {
        ChatRole.System => "system",
        ChatRole.User => "user",
        _ => "assistant",
    };
}

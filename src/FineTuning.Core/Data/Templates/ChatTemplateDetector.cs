using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;
using FineTuning.Json;

namespace FineTuning.Data.Templates;

/// <summary>Marker heuristics that map a Jinja chat_template to a built-in template when exactly one clearly matches.</summary>
internal static class ChatTemplateDetector
{
    private static readonly (IChatTemplate Template, Func<string, bool> Matches)[] Rules =
    {
        (ChatTemplates.ChatML, t => t.Contains("<|im_start|>", StringComparison.Ordinal) && t.Contains("<|im_end|>", StringComparison.Ordinal)),
        (ChatTemplates.Llama3, t => t.Contains("<|start_header_id|>", StringComparison.Ordinal) && t.Contains("<|eot_id|>", StringComparison.Ordinal)),
        // [INST] alone is also Mistral's format, which differs (no <<SYS>>, no spaces around the answer): require <<SYS>>.
        (ChatTemplates.Llama2, t => t.Contains("[INST]", StringComparison.Ordinal) && t.Contains("<<SYS>>", StringComparison.Ordinal)),
        (ChatTemplates.Phi3, t => t.Contains("<|assistant|>", StringComparison.Ordinal) && t.Contains("<|end|>", StringComparison.Ordinal)),
        (ChatTemplates.Zephyr, t => t.Contains("<|assistant|>", StringComparison.Ordinal) && !t.Contains("<|end|>", StringComparison.Ordinal) && t.Contains("eos_token", StringComparison.Ordinal)),
        (ChatTemplates.Alpaca, t => t.Contains("### Instruction:", StringComparison.Ordinal) && t.Contains("### Response:", StringComparison.Ordinal)),
    };

    private const string Choose = "Choose one explicitly: ChatTemplates.ChatML, Llama3, Llama2, Zephyr, Phi3, Alpaca, or new CustomChatTemplate { ... }.";

    internal static IChatTemplate? Detect(string chatTemplate, out IReadOnlyList<string> matched)
    {
        ArgumentNullException.ThrowIfNull(chatTemplate);
        List<IChatTemplate> hits = Rules.Where(r => r.Matches(chatTemplate)).Select(r => r.Template).ToList();
        matched = hits.Select(h => h.Name).ToList();
        return hits.Count == 1 ? hits[0] : null;
    }

    internal static IChatTemplate FromTokenizerConfig(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonErrorFactory error = (field, line, problem) => new ChatTemplateException(
            $"tokenizer_config.json{(line > 0 ? $" line {line}" : "")}{(field is null ? "" : $", field '{field}'")}: {problem}. {Choose}");
        using JsonDocument doc = JsonInput.Parse(json, error, JsonLimits.Strict);
        string? source = ChatTemplateSource(doc.RootElement, new JsonFieldReader(error));

        if (source is null) throw new ChatTemplateException($"tokenizer_config.json has no chat_template. {Choose}");
        IChatTemplate? template = Detect(source, out IReadOnlyList<string> matched);
        if (template is not null) return template;
        throw new ChatTemplateException(matched.Count == 0
            ? $"the chat_template matches none of the built-in templates by its markers. {Choose}"
            : $"the chat_template has markers of several templates ({string.Join(", ", matched)}). {Choose}");
    }

    /// <summary>A string chat_template, or the one named "default" in HF's list form [{name, template}].</summary>
    private static string? ChatTemplateSource(JsonElement root, JsonFieldReader fields)
    {
        fields.RequireObject(root, null);
        if (JsonFieldReader.Optional(root, "chat_template") is not { } t) return null;
        if (t.ValueKind == JsonValueKind.String) return t.GetString();
        foreach ((JsonElement entry, string path) in fields.Array(t, "chat_template"))
        {
            if (fields.RequiredString(entry, path, "name") == "default") return fields.RequiredString(entry, path, "template");
        }

        return null;
    }
}

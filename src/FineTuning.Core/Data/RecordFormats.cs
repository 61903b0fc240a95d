using System.Collections.Generic;
using System.Text.Json;

namespace FineTuning.Data;

/// <summary>The built-in record formats for <see cref="DataReader"/>.</summary>
public static class RecordFormats
{
    /// <summary>Plain text: <c>{"text": "..."}</c>.</summary>
    public static IRecordFormat<TextExample> Text { get; } = new TextFormat();

    /// <summary>Prompt/completion: <c>{"prompt": "...", "completion": "..."}</c>.</summary>
    public static IRecordFormat<PromptCompletionExample> PromptCompletion { get; } = new PromptCompletionFormat();

    /// <summary>Stanford Alpaca: <c>{"instruction": "...", "input": "...", "output": "..."}</c> (<c>input</c> optional).</summary>
    public static IRecordFormat<AlpacaExample> Alpaca { get; } = new AlpacaFormat();

    /// <summary>
    /// OpenAI chat fine-tuning: <c>{"messages": [{"role": "system|user|assistant", "content": "...", "weight": 0|1}]}</c>
    /// (<c>weight</c> optional, assistant messages only, as OpenAI documents).
    /// </summary>
    public static IRecordFormat<ChatExample> OpenAIChat { get; } = new OpenAIChatFormat();

    /// <summary>Reads an array of OpenAI chat messages found in the field <paramref name="name"/> of a record.</summary>
    internal static ChatExample ChatMessages(JsonElement array, RecordLocation location, string name) => OpenAIChatFormat.Messages(array, location, name);

    /// <summary>ShareGPT: <c>{"conversations": [{"from": "system|human|gpt", "value": "..."}]}</c>.</summary>
    public static IRecordFormat<ChatExample> ShareGpt { get; } = new ShareGptFormat();

    private sealed class TextFormat : IRecordFormat<TextExample>
    {
        public TextExample Parse(JsonElement record, RecordLocation location)
        {
            JsonFields.RequireObject(record, location, null);
            return new TextExample(JsonFields.String(record, "text", location));
        }
    }

    private sealed class PromptCompletionFormat : IRecordFormat<PromptCompletionExample>
    {
        public PromptCompletionExample Parse(JsonElement record, RecordLocation location)
        {
            JsonFields.RequireObject(record, location, null);
            return new PromptCompletionExample(JsonFields.String(record, "prompt", location), JsonFields.String(record, "completion", location));
        }
    }

    private sealed class AlpacaFormat : IRecordFormat<AlpacaExample>
    {
        public AlpacaExample Parse(JsonElement record, RecordLocation location)
        {
            JsonFields.RequireObject(record, location, null);
            return new AlpacaExample(
                JsonFields.String(record, "instruction", location),
                JsonFields.String(record, "input", location, optional: true),
                JsonFields.String(record, "output", location));
        }
    }

    private sealed class OpenAIChatFormat : IRecordFormat<ChatExample>
    {
        public ChatExample Parse(JsonElement record, RecordLocation location)
        {
            JsonFields.RequireObject(record, location, null);
            return Messages(JsonFields.Array(record, "messages", location), location, "messages");
        }

        /// <summary>An array of OpenAI chat messages found at <paramref name="name"/> (also TRL's conversational prompt).</summary>
        internal static ChatExample Messages(JsonElement array, RecordLocation location, string name)
        {
            var messages = new List<ChatMessage>();
            int i = 0;
            foreach (JsonElement m in array.EnumerateArray())
            {
                string path = $"{name}[{i++}]";
                JsonFields.RequireObject(m, location, path);
                string roleName = JsonFields.String(m, "role", location, path);
                ChatRole role = roleName switch
                {
                    "system" => ChatRole.System,
                    "user" => ChatRole.User,
                    "assistant" => ChatRole.Assistant,
                    _ => throw location.Error($"{path}.role", $"expected one of system, user, assistant, got \"{roleName}\""),
                };
                string content = JsonFields.String(m, "content", location, path);
                int? weight = null;
                if (m.TryGetProperty("weight", out JsonElement w))
                {
                    if (role != ChatRole.Assistant) throw location.Error($"{path}.weight", $"only assistant messages may have a weight, this one is {roleName}");
                    if (w.ValueKind != JsonValueKind.Number || !w.TryGetInt32(out int value) || value is not (0 or 1))
                    {
                        throw location.Error($"{path}.weight", $"expected 0 or 1, got {w.GetRawText()}");
                    }

                    weight = value;
                }

                messages.Add(new ChatMessage(role, content, weight));
            }

            return new ChatExample(messages);
        }
    }

    private sealed class ShareGptFormat : IRecordFormat<ChatExample>
    {
        public ChatExample Parse(JsonElement record, RecordLocation location)
        {
            JsonFields.RequireObject(record, location, null);
            var messages = new List<ChatMessage>();
            int i = 0;
            foreach (JsonElement m in JsonFields.Array(record, "conversations", location).EnumerateArray())
            {
                string path = $"conversations[{i++}]";
                JsonFields.RequireObject(m, location, path);
                string from = JsonFields.String(m, "from", location, path);
                ChatRole role = from switch
                {
                    "system" => ChatRole.System,
                    "human" => ChatRole.User,
                    "gpt" => ChatRole.Assistant,
                    _ => throw location.Error($"{path}.from", $"expected one of system, human, gpt, got \"{from}\""),
                };
                messages.Add(new ChatMessage(role, JsonFields.String(m, "value", location, path)));
            }

            return new ChatExample(messages);
        }
    }
}

using System.Text.Json;
using FineTuning.Data;

namespace FineTuning.Rlhf.Data;

/// <summary>Record formats for <see cref="DataReader"/> (JSONL or JSON arrays, line-numbered errors, fail or skip-and-report).</summary>
public static class PreferenceFormats
{
    /// <summary><c>{"prompt": "...", "chosen": "...", "rejected": "..."}</c> (<c>prompt</c> optional).</summary>
    public static IRecordFormat<TextPreference> PromptChosenRejected { get; } = new TextFormat();

    /// <summary>
    /// OpenAI's preference format: <c>{"input": {"messages": [...]}, "preferred_output": [{"role": "assistant", "content": "..."}],
    /// "non_preferred_output": [{"role": "assistant", "content": "..."}]}</c>.
    /// </summary>
    public static IRecordFormat<ChatPreference> OpenAIPreference { get; } = new OpenAIFormat();

    /// <summary>
    /// TRL's conversational preference format: <c>{"prompt": [messages], "chosen": [one assistant message],
    /// "rejected": [one assistant message]}</c>, read as a <see cref="ChatPreference"/>.
    /// </summary>
    public static IRecordFormat<ChatPreference> ConversationalPromptChosenRejected { get; } = new ConversationalFormat();

    /// <summary>
    /// Unpaired examples for KTO: <c>{"prompt": "...", "completion": "...", "label": true|false|"good"|"bad"}</c>.
    /// </summary>
    public static IRecordFormat<TextKtoExample> Unpaired { get; } = new UnpairedFormat();

    private sealed class TextFormat : IRecordFormat<TextPreference>
    {
        public TextPreference Parse(JsonElement record, RecordLocation location)
        {
            JsonFields.RequireObject(record, location, null);
            foreach (string side in new[] { "chosen", "rejected" })
                if (record.TryGetProperty(side, out JsonElement v) && v.ValueKind == JsonValueKind.Array)
                    throw location.Error(side, "conversational preference records (lists of messages) are not supported yet; use a string, or OpenAI's preference format");
            return new TextPreference(
                JsonFields.String(record, "prompt", location, optional: true),
                JsonFields.String(record, "chosen", location),
                JsonFields.String(record, "rejected", location));
        }
    }

    private sealed class OpenAIFormat : IRecordFormat<ChatPreference>
    {
        public ChatPreference Parse(JsonElement record, RecordLocation location)
        {
            JsonFields.RequireObject(record, location, null);
            if (!record.TryGetProperty("input", out JsonElement input)) throw location.Error("input", "missing; expected an object with \"messages\"");
            ChatExample conversation;
            try
            {
                conversation = RecordFormats.OpenAIChat.Parse(input, location);
            }
            catch (DataFormatException e)
            {
                throw location.Error("input." + (e.Field ?? ""), e.Reason);
            }
            return new ChatPreference(conversation, Reply(record, "preferred_output", location), Reply(record, "non_preferred_output", location));
        }

        internal static string Reply(JsonElement record, string name, RecordLocation location)
        {
            JsonElement array = JsonFields.Array(record, name, location);
            if (array.GetArrayLength() != 1) throw location.Error(name, $"expected exactly one assistant message, got {array.GetArrayLength()}");
            JsonElement message = array[0];
            JsonFields.RequireObject(message, location, name + "[0]");
            string role = JsonFields.String(message, "role", location, name + "[0]");
            if (role != "assistant") throw location.Error(name + "[0].role", $"expected \"assistant\", got \"{role}\"");
            return JsonFields.String(message, "content", location, name + "[0]");
        }
    }

    private sealed class ConversationalFormat : IRecordFormat<ChatPreference>
    {
        public ChatPreference Parse(JsonElement record, RecordLocation location)
        {
            JsonFields.RequireObject(record, location, null);
            // The messages are read in place: re-parsing their raw text would see comments the record reader skipped.
            ChatExample conversation = RecordFormats.ChatMessages(JsonFields.Array(record, "prompt", location), location, "prompt");
            return new ChatPreference(conversation, OpenAIFormat.Reply(record, "chosen", location), OpenAIFormat.Reply(record, "rejected", location));
        }
    }

    private sealed class UnpairedFormat : IRecordFormat<TextKtoExample>
    {
        public TextKtoExample Parse(JsonElement record, RecordLocation location)
        {
            JsonFields.RequireObject(record, location, null);
            if (!record.TryGetProperty("label", out JsonElement label)) throw location.Error("label", "missing; expected true/false or \"good\"/\"bad\"");
            bool desirable = label.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                JsonValueKind.String when label.GetString() == "good" => true,
                JsonValueKind.String when label.GetString() == "bad" => false,
                _ => throw location.Error("label", $"expected true/false or \"good\"/\"bad\", got {label.GetRawText()}"),
            };
            return new TextKtoExample(JsonFields.String(record, "prompt", location, optional: true), JsonFields.String(record, "completion", location), desirable);
        }
    }
}

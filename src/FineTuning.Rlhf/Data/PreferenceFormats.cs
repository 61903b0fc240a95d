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

        private static string Reply(JsonElement record, string name, RecordLocation location)
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
}

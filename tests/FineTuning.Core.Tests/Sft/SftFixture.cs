using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using FineTuning.Models.Llama;
using FineTuning.Testing;

namespace FineTuning.Core.Tests.Sft;

/// <summary>A tiny LLaMA over the byte tokenizer's 259 ids and small data files for the SFT tests.</summary>
internal static class SftFixture
{
    internal static LlamaForCausalLM Model() => TinyModels.ByteLlama();

    internal static IReadOnlyList<(string Prompt, string Completion)> Pairs(int count) =>
        Enumerable.Range(0, count).Select(i => ($"Q{i}: two plus {i}?", $" {i + 2}.")).ToList();

    internal static string WriteJsonl(string dir, string name, IEnumerable<object> records)
    {
        string path = Path.Combine(dir, name);
        File.WriteAllLines(path, records.Select(r => JsonSerializer.Serialize(r)));
        return path;
    }

    internal static string PromptCompletionFile(string dir, int count = 10) =>
        WriteJsonl(dir, "pc.jsonl", Pairs(count).Select(p => (object)new { prompt = p.Prompt, completion = p.Completion }));

    internal static string MessagesFile(string dir, int count = 6) =>
        WriteJsonl(dir, "chat.jsonl", Pairs(count).Select(p => (object)new
        {
            messages = new[] { new { role = "user", content = p.Prompt }, new { role = "assistant", content = p.Completion } },
        }));
}

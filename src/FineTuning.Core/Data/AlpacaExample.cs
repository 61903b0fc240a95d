using System.Collections.Generic;

namespace FineTuning.Data;

/// <summary>An Alpaca record (<c>{"instruction", "input", "output"}</c>; <c>input</c> may be empty).</summary>
/// <param name="Instruction">The task.</param>
/// <param name="Input">Optional context for the task ("" when none).</param>
/// <param name="Output">The answer to learn.</param>
public sealed record AlpacaExample(string Instruction, string Input, string Output)
{
    /// <summary>Stanford Alpaca's preamble for records with an input.</summary>
    public const string PreambleWithInput =
        "Below is an instruction that describes a task, paired with an input that provides further context. Write a response that appropriately completes the request.";

    /// <summary>Stanford Alpaca's preamble for records without an input.</summary>
    public const string PreambleWithoutInput =
        "Below is an instruction that describes a task. Write a response that appropriately completes the request.";

    /// <summary>
    /// As a conversation that the Alpaca template renders exactly as Stanford Alpaca's prompt: the preamble
    /// is the system message, the user message is the instruction followed by <c>\n\n### Input:\n{input}</c>
    /// when there is an input, the assistant message is the output. Other templates render the same
    /// conversation in their own markup.
    /// </summary>
    /// <param name="includePreamble">Whether to add Alpaca's preamble as the system message.</param>
    /// <returns>The conversation.</returns>
    public ChatExample ToChat(bool includePreamble = true)
    {
        bool hasInput = !string.IsNullOrEmpty(Input);
        var messages = new List<ChatMessage>();
        if (includePreamble) messages.Add(new ChatMessage(ChatRole.System, hasInput ? PreambleWithInput : PreambleWithoutInput));
        messages.Add(new ChatMessage(ChatRole.User, hasInput ? $"{Instruction}\n\n### Input:\n{Input}" : Instruction));
        messages.Add(new ChatMessage(ChatRole.Assistant, Output));
        return new ChatExample(messages);
    }
}

namespace FineTuning.Sft;

/// <summary>The record format of an SFT data file (TRL's dataset types); <see cref="Auto"/> detects it from the first record.</summary>
public enum SftDataFormat
{
    /// <summary>Detected from the first record's fields: <c>messages</c>, <c>conversations</c>, <c>prompt</c>+<c>completion</c>, <c>instruction</c>+<c>output</c>, or <c>text</c>.</summary>
    Auto = 0,

    /// <summary>OpenAI / TRL conversational: <c>{"messages": [{"role": ..., "content": ...}]}</c> (<see cref="Data.RecordFormats.OpenAIChat"/>).</summary>
    Messages = 1,

    /// <summary>ShareGPT: <c>{"conversations": [{"from": ..., "value": ...}]}</c> (<see cref="Data.RecordFormats.ShareGpt"/>).</summary>
    ShareGpt = 2,

    /// <summary>Prompt/completion: <c>{"prompt": ..., "completion": ...}</c> (<see cref="Data.RecordFormats.PromptCompletion"/>).</summary>
    PromptCompletion = 3,

    /// <summary>Stanford Alpaca: <c>{"instruction": ..., "input": ..., "output": ...}</c> (<see cref="Data.RecordFormats.Alpaca"/>).</summary>
    Alpaca = 4,

    /// <summary>Plain language modelling: <c>{"text": ...}</c> (<see cref="Data.RecordFormats.Text"/>); every token is learned.</summary>
    Text = 5,
}

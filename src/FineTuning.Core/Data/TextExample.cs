namespace FineTuning.Data;

/// <summary>Plain text for language modelling (<c>{"text": ...}</c>).</summary>
/// <param name="Text">The text.</param>
public sealed record TextExample(string Text);

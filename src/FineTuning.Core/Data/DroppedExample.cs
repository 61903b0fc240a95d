namespace FineTuning.Data;

/// <summary>An example the labeler left out, and why.</summary>
/// <param name="Index">0-based position in the input.</param>
/// <param name="Reason">Why (too long, nothing to learn, ...).</param>
public sealed record DroppedExample(int Index, string Reason);

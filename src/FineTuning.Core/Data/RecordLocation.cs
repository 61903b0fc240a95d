namespace FineTuning.Data;

/// <summary>Where a record comes from, for error messages.</summary>
/// <param name="File">The file (or source name).</param>
/// <param name="Line">1-based line where the record starts.</param>
public readonly record struct RecordLocation(string File, long Line)
{
    /// <summary>An exception naming this location, <paramref name="field"/> and <paramref name="reason"/>.</summary>
    /// <param name="field">JSON path of the field, or null for the record as a whole.</param>
    /// <param name="reason">What was expected and what was found.</param>
    /// <returns>The exception (not thrown).</returns>
    public DataFormatException Error(string? field, string reason) => new(File, Line, field, reason);
}

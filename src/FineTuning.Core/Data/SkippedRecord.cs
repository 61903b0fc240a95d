namespace FineTuning.Data;

/// <summary>A record a reader left out under <see cref="MalformedRecordPolicy.SkipAndReport"/>, and why.</summary>
/// <param name="File">The file (or source name).</param>
/// <param name="Line">1-based line where the record starts.</param>
/// <param name="Field">JSON path of the offending field, or null for the record as a whole.</param>
/// <param name="Reason">What was expected and what was found.</param>
public sealed record SkippedRecord(string File, long Line, string? Field, string Reason)
{
    /// <inheritdoc />
    public override string ToString() => DataFormatException.Describe(File, Line, Field, Reason);
}

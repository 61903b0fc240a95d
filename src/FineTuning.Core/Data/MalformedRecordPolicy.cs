namespace FineTuning.Data;

/// <summary>What a reader does with a record it cannot parse. A malformed record never disappears silently.</summary>
public enum MalformedRecordPolicy
{
    /// <summary>Throw <see cref="DataFormatException"/> at the first malformed record (the default).</summary>
    Fail = 0,

    /// <summary>Leave the record out and add a <see cref="SkippedRecord"/> (file, line, field, reason) to the caller's list.</summary>
    SkipAndReport = 1,
}

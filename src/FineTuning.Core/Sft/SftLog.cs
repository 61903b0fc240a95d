using Microsoft.Extensions.Logging;

namespace FineTuning.Sft;

/// <summary>Structured log messages of one-call SFT.</summary>
internal static partial class SftLog
{
    [LoggerMessage(EventId = 101, Level = LogLevel.Information,
        Message = "Read {Records} {Format} records from {File} ({Skipped} malformed skipped); template {Template}")]
    public static partial void DataRead(ILogger logger, int records, SftDataFormat format, string file, int skipped, string template);

    [LoggerMessage(EventId = 102, Level = LogLevel.Information, Message = "Data report:\n{Report}")]
    public static partial void Report(ILogger logger, string report);

    [LoggerMessage(EventId = 103, Level = LogLevel.Information,
        Message = "{Train} training examples ({Dropped} dropped, {Truncated} truncated), {Validation} validation examples; {Rows} training rows{Packed}")]
    public static partial void Labeled(ILogger logger, int train, int dropped, int truncated, int validation, int rows, string packed);

    [LoggerMessage(EventId = 104, Level = LogLevel.Warning, Message = "{Message}")]
    public static partial void UntrainedToken(ILogger logger, string message);
}

using Microsoft.Extensions.Logging;

namespace FineTuning.Adapters;

/// <summary>Structured log messages of adapter loading.</summary>
internal static partial class AdapterLog
{
    [LoggerMessage(EventId = 101, Level = LogLevel.Warning,
        Message = "The adapter in {Directory} was trained on {RecordedBase} and is loaded onto {CurrentBase}: the shapes fit, but it only does what it was trained for on its own base")]
    public static partial void OtherBase(ILogger logger, string directory, string recordedBase, string currentBase);
}

using Microsoft.Extensions.Logging;

namespace FineTuning.Lora.Peft;

/// <summary>Structured log messages of PEFT adapter loading.</summary>
internal static partial class PeftLog
{
    [LoggerMessage(EventId = 201, Level = LogLevel.Warning,
        Message = "The adapter in {Directory} was trained on {RecordedBase} and is loaded onto {CurrentBase}: the shapes fit, but it only does what it was trained for on its own base")]
    public static partial void OtherBase(ILogger logger, string directory, string recordedBase, string currentBase);
}

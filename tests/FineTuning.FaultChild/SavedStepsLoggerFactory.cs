using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.Extensions.Logging;

namespace FineTuning.FaultChild;

/// <summary>Prints "saved &lt;step&gt;" when the trainer logs a saved checkpoint (its event 9), and nothing else.</summary>
internal sealed class SavedStepsLoggerFactory : ILoggerFactory, ILogger
{
    private const int CheckpointSavedEvent = 9;

    public ILogger CreateLogger(string categoryName) => this;

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (eventId.Id != CheckpointSavedEvent || state is not IEnumerable<KeyValuePair<string, object?>> values) return;
        Console.WriteLine($"saved {values.First(v => v.Key == "Step").Value}");
    }
}

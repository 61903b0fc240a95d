using System;
using System.Collections.Generic;
using Microsoft.Extensions.Logging;

namespace FineTuning.Testing;

/// <summary>A logger (and provider) that keeps every formatted message with its level, for tests that check what was logged.</summary>
public sealed class ListLogger : ILogger, ILoggerProvider
{
    /// <summary>The messages, in order.</summary>
    public List<(LogLevel Level, string Message)> Entries { get; } = new();

    /// <inheritdoc />
    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    /// <inheritdoc />
    public bool IsEnabled(LogLevel logLevel) => true;

    /// <inheritdoc />
    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        ArgumentNullException.ThrowIfNull(formatter);
        Entries.Add((logLevel, formatter(state, exception)));
    }

    /// <inheritdoc />
    public ILogger CreateLogger(string categoryName) => this;

    /// <inheritdoc />
    public void Dispose()
    {
    }
}

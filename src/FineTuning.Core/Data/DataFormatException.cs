using System;

namespace FineTuning.Data;

/// <summary>
/// A data file does not have the expected shape. <see cref="Exception.Message"/> names the file, the line,
/// the field and what was expected, e.g. <c>train.jsonl line 7, field "messages[1].role": expected one of
/// system, user, assistant, got "bot"</c>.
/// </summary>
public sealed class DataFormatException : FineTuningException
{
    /// <summary>Creates an exception with no location.</summary>
    public DataFormatException()
        : this("the data is malformed.")
    {
    }

    /// <summary>Creates an exception with a message and no location.</summary>
    /// <param name="message">What is wrong.</param>
    public DataFormatException(string message)
        : base(message)
    {
        File = string.Empty;
        Reason = message;
    }

    /// <summary>Creates an exception with a message, no location, and its cause.</summary>
    /// <param name="message">What is wrong.</param>
    /// <param name="innerException">The cause.</param>
    public DataFormatException(string message, Exception? innerException)
        : base(message, innerException)
    {
        File = string.Empty;
        Reason = message;
    }

    /// <summary>Creates an exception locating the problem.</summary>
    /// <param name="file">The file (or source name).</param>
    /// <param name="line">1-based line where the record starts.</param>
    /// <param name="field">The JSON path of the field (null when the record as a whole is wrong).</param>
    /// <param name="reason">What was expected and what was found.</param>
    /// <param name="innerException">The cause, e.g. a JSON syntax error.</param>
    public DataFormatException(string file, long line, string? field, string reason, Exception? innerException = null)
        : base(Describe(file, line, field, reason), innerException)
    {
        File = file;
        Line = line;
        Field = field;
        Reason = reason;
    }

    /// <summary>The file (or source name) that holds the record.</summary>
    public string File { get; }

    /// <summary>1-based line where the record starts (0 when unknown).</summary>
    public long Line { get; }

    /// <summary>JSON path of the offending field, e.g. <c>messages[2].content</c>; null for the record as a whole.</summary>
    public string? Field { get; }

    /// <summary>The problem without the location.</summary>
    public string Reason { get; }

    internal static string Describe(string file, long line, string? field, string reason) =>
        field is null ? $"{file} line {line}: {reason}" : $"{file} line {line}, field \"{field}\": {reason}";
}

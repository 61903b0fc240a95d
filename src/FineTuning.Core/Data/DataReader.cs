using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using System.Text.Json;
using FineTuning.Json;

namespace FineTuning.Data;

/// <summary>
/// Reads typed examples from JSON Lines (one record per line, streamed) or a JSON array of records
/// (detected by a <c>[</c> starting the first non-blank line; the array is read whole, then parsed record by record). Records are
/// yielded lazily. Blank lines in JSON Lines carry no record and are passed over. A malformed record
/// throws <see cref="DataFormatException"/> naming file, line and field, or, with
/// <see cref="MalformedRecordPolicy.SkipAndReport"/>, is added to the caller's list of skipped records.
/// A JSON array with a syntax error cannot be resynchronised and always throws.
/// </summary>
public static class DataReader
{
    /// <summary>Reads the file at <paramref name="path"/>.</summary>
    /// <typeparam name="T">Example type.</typeparam>
    /// <param name="path">A .jsonl or .json file.</param>
    /// <param name="format">How a record becomes an example, e.g. <see cref="RecordFormats.OpenAIChat"/>.</param>
    /// <param name="policy">What to do with a malformed record.</param>
    /// <param name="skipped">Receives the records left out; required with <see cref="MalformedRecordPolicy.SkipAndReport"/>.</param>
    /// <returns>The examples, lazily.</returns>
    public static IEnumerable<T> Read<T>(string path, IRecordFormat<T> format, MalformedRecordPolicy policy = MalformedRecordPolicy.Fail, ICollection<SkippedRecord>? skipped = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        Check(format, policy, skipped);
        return ReadFile(path, format, policy, skipped);
    }

    /// <summary>Reads records from <paramref name="reader"/>; <paramref name="sourceName"/> names it in errors.</summary>
    /// <typeparam name="T">Example type.</typeparam>
    /// <param name="reader">The text (JSON Lines or a JSON array).</param>
    /// <param name="sourceName">Name used in errors in place of a file name.</param>
    /// <param name="format">How a record becomes an example.</param>
    /// <param name="policy">What to do with a malformed record.</param>
    /// <param name="skipped">Receives the records left out; required with <see cref="MalformedRecordPolicy.SkipAndReport"/>.</param>
    /// <returns>The examples, lazily.</returns>
    public static IEnumerable<T> Read<T>(TextReader reader, string sourceName, IRecordFormat<T> format, MalformedRecordPolicy policy = MalformedRecordPolicy.Fail, ICollection<SkippedRecord>? skipped = null)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(sourceName);
        Check(format, policy, skipped);
        return ReadText(reader, sourceName, format, policy, skipped);
    }

    private static void Check<T>(IRecordFormat<T> format, MalformedRecordPolicy policy, ICollection<SkippedRecord>? skipped)
    {
        ArgumentNullException.ThrowIfNull(format);
        if (policy == MalformedRecordPolicy.SkipAndReport && skipped is null)
        {
            throw new ArgumentException("SkipAndReport needs a collection to report skipped records into: a malformed record must not disappear silently.", nameof(skipped));
        }
    }

    private static IEnumerable<T> ReadFile<T>(string path, IRecordFormat<T> format, MalformedRecordPolicy policy, ICollection<SkippedRecord>? skipped)
    {
        using var reader = new StreamReader(path, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        foreach (T item in ReadText(reader, Path.GetFileName(path), format, policy, skipped)) yield return item;
    }

    private static IEnumerable<T> ReadText<T>(TextReader reader, string source, IRecordFormat<T> format, MalformedRecordPolicy policy, ICollection<SkippedRecord>? skipped)
    {
        long line = 0;
        bool first = true;
        string? text;
        while ((text = reader.ReadLine()) is not null)
        {
            line++;
            string trimmed = text.TrimStart();
            if (trimmed.Length == 0) continue;
            if (first && trimmed[0] == '[')
            {
                string rest = text + "\n" + reader.ReadToEnd();
                foreach (T item in JsonArrayRecords.Read(rest, line, source, format, policy, skipped)) yield return item;
                yield break;
            }

            first = false;
            var location = new RecordLocation(source, line);
            T? parsed = default;
            bool ok;
            try
            {
                using JsonDocument doc = JsonInput.Parse(text, JsonFields.Errors(source), JsonLimits.Strict, line);
                parsed = format.Parse(doc.RootElement, location);
                ok = true;
            }
            catch (DataFormatException e)
            {
                ok = Handle(e, policy, skipped);
            }

            if (ok) yield return parsed!;
        }
    }

    /// <summary>Throws under Fail; records the problem and returns false under SkipAndReport.</summary>
    internal static bool Handle(DataFormatException error, MalformedRecordPolicy policy, ICollection<SkippedRecord>? skipped)
    {
        if (policy == MalformedRecordPolicy.Fail) throw error;
        skipped!.Add(new SkippedRecord(error.File, error.Line, error.Field, error.Reason));
        return false;
    }
}

using System.Text.Json;

namespace FineTuning.Data;

/// <summary>Turns one JSON record into a typed example; the built-in formats are in <see cref="RecordFormats"/>.</summary>
/// <typeparam name="T">The example type.</typeparam>
public interface IRecordFormat<out T>
{
    /// <summary>Parses <paramref name="record"/>.</summary>
    /// <param name="record">One JSON value (a line of a JSONL file or an element of a JSON array).</param>
    /// <param name="location">Where it comes from.</param>
    /// <returns>The example.</returns>
    /// <exception cref="DataFormatException">The record lacks a field or has one of the wrong type (use <see cref="RecordLocation.Error"/>).</exception>
    T Parse(JsonElement record, RecordLocation location);
}

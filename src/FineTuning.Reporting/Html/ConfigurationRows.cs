using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Reflection;
using FineTuning.Training;

namespace FineTuning.Reporting.Html;

/// <summary>
/// The configuration table: every public property of the run's <see cref="TrainingOptions"/> (read by reflection, so
/// options added later appear unchanged) and the adapters applied.
/// </summary>
internal static class ConfigurationRows
{
    public static IEnumerable<IReadOnlyList<string>> For(TrainingRun run)
    {
        TrainingOptions options = run.Options;
        foreach (PropertyInfo property in typeof(TrainingOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance).OrderBy(p => p.Name, StringComparer.Ordinal))
        {
            if (property.GetIndexParameters().Length > 0) continue;
            yield return new[] { property.Name, Describe(property.GetValue(options)) };
        }
        yield return new[] { "Adapters", run.Adapters.Count == 0 ? "none (full fine-tuning)" : string.Join(", ", run.Adapters.Select(a => a.GetType().Name)) };
    }

    private static string Describe(object? value) => value switch
    {
        null => "null",
        string s => s,
        double d => d.ToString("G6", CultureInfo.InvariantCulture),
        float f => f.ToString("G6", CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        EarlyStopping e => string.Create(CultureInfo.InvariantCulture, $"Patience = {e.Patience}, MinDelta = {e.MinDelta}, GreaterIsBetter = {(e.GreaterIsBetter ? "true" : "false")}"),
        _ => Plain(value),
    };

    /// <summary>A type whose ToString is the default (its name) is shown by name; otherwise its own text.</summary>
    private static string Plain(object value)
    {
        string text = value.ToString() ?? "";
        Type type = value.GetType();
        return text == type.FullName ? type.Name : text;
    }
}

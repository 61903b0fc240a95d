using System;
using System.Collections.Generic;
using System.Linq;

namespace FineTuning.Monitoring;

/// <summary>Named task metrics in a stable order (ordinal by name), so logs and reports come out the same on every run.</summary>
internal static class MetricNames
{
    public static IEnumerable<KeyValuePair<string, double>> Ordered(IReadOnlyDictionary<string, double> metrics) =>
        metrics.OrderBy(m => m.Key, StringComparer.Ordinal);
}

using System;
using System.Collections.Generic;
using System.Linq;

namespace FineTuning.Data;

/// <summary>Token lengths summarised: minimum, median, 95th percentile (nearest rank), maximum.</summary>
/// <param name="Count">Number of lengths.</param>
/// <param name="Min">Smallest.</param>
/// <param name="Median">Median (mean of the middle two for an even count).</param>
/// <param name="P95">95th percentile by nearest rank: the smallest length at least 95% of examples do not exceed.</param>
/// <param name="Max">Largest.</param>
public sealed record LengthDistribution(int Count, int Min, double Median, int P95, int Max)
{
    /// <summary>Summarises <paramref name="lengths"/> (all zeros when empty).</summary>
    /// <param name="lengths">Token lengths.</param>
    /// <returns>The summary.</returns>
    public static LengthDistribution Of(IEnumerable<int> lengths)
    {
        ArgumentNullException.ThrowIfNull(lengths);
        int[] s = lengths.Order().ToArray();
        if (s.Length == 0) return new LengthDistribution(0, 0, 0, 0, 0);
        double median = s.Length % 2 == 1 ? s[s.Length / 2] : (s[(s.Length / 2) - 1] + s[s.Length / 2]) / 2.0;
        int rank = (int)Math.Ceiling(0.95 * s.Length);
        return new LengthDistribution(s.Length, s[0], median, s[rank - 1], s[^1]);
    }
}

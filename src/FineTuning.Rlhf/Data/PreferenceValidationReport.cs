using System.Collections.Generic;
using System.Linq;
using System.Text;

namespace FineTuning.Rlhf.Data;

/// <summary>What <see cref="PreferenceValidator"/> found; indices refer to the validated list.</summary>
/// <param name="Count">Preferences checked.</param>
/// <param name="IdenticalSides">Pairs whose chosen and rejected texts are equal (no preference).</param>
/// <param name="EmptySides">Pairs with an empty or blank side.</param>
/// <param name="Duplicates">Exact repeats of an earlier pair.</param>
/// <param name="LongerThanContext">Pairs whose prompt plus longer completion exceeds the context.</param>
/// <param name="MinTokens">Shortest prompt + longer completion.</param>
/// <param name="MedianTokens">Median of the same.</param>
/// <param name="MaxTokens">Longest.</param>
/// <param name="ContextLength">The context length used.</param>
public sealed record PreferenceValidationReport(
    int Count,
    IReadOnlyList<int> IdenticalSides,
    IReadOnlyList<int> EmptySides,
    IReadOnlyList<int> Duplicates,
    IReadOnlyList<int> LongerThanContext,
    int MinTokens,
    int MedianTokens,
    int MaxTokens,
    int ContextLength)
{
    /// <summary>True when nothing would stop training (identical or empty sides, pairs longer than the context).</summary>
    public bool IsUsable => IdenticalSides.Count == 0 && EmptySides.Count == 0 && LongerThanContext.Count == 0;

    /// <inheritdoc />
    public override string ToString()
    {
        var b = new StringBuilder();
        b.AppendLine($"{Count} preference pairs; tokens (prompt + longer completion): min {MinTokens}, median {MedianTokens}, max {MaxTokens}, context {ContextLength}");
        Line(b, "identical chosen and rejected", IdenticalSides);
        Line(b, "empty side", EmptySides);
        Line(b, "duplicates", Duplicates);
        Line(b, "longer than the context", LongerThanContext);
        return b.ToString();
    }

    private static void Line(StringBuilder b, string what, IReadOnlyList<int> indices) =>
        b.AppendLine($"  {what}: {indices.Count}{(indices.Count == 0 ? "" : " (e.g. #" + string.Join(", #", indices.Take(5)) + ")")}");
}

using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;

namespace FineTuning.Data;

/// <summary>What a data set looks like before training (<see cref="DataValidator"/>). Index lists are 0-based positions in the input.</summary>
public sealed class DataValidationReport
{
    /// <summary>Number of examples.</summary>
    public required int Examples { get; init; }

    /// <summary>Number of messages over all examples.</summary>
    public required int Messages { get; init; }

    /// <summary>Token lengths of the rendered examples (before any length limit; unrenderable examples excluded).</summary>
    public required LengthDistribution TokenLengths { get; init; }

    /// <summary>Learned (labelled) tokens over all examples, before any length limit.</summary>
    public required long LearnedTokens { get; init; }

    /// <summary>The labeler's maximum length, if any.</summary>
    public required int? MaxLength { get; init; }

    /// <summary>Examples longer than <see cref="MaxLength"/>: truncated or dropped, by the labeler's policy.</summary>
    public required IReadOnlyList<int> OverMaxLength { get; init; }

    /// <summary>The model's context length, if given.</summary>
    public required int? ContextLength { get; init; }

    /// <summary>Examples longer than the model's context.</summary>
    public required IReadOnlyList<int> OverContext { get; init; }

    /// <summary>Examples identical (roles and contents) to an earlier one.</summary>
    public required IReadOnlyList<int> ExactDuplicates { get; init; }

    /// <summary>Examples equal to an earlier one once whitespace runs are collapsed and ends trimmed (includes the exact duplicates).</summary>
    public required IReadOnlyList<int> WhitespaceDuplicates { get; init; }

    /// <summary>Examples with an assistant message that is empty or only whitespace.</summary>
    public required IReadOnlyList<int> EmptyResponses { get; init; }

    /// <summary>Examples whose roles are not: optional system first, then user and assistant alternating from user, ending with assistant.</summary>
    public required IReadOnlyList<int> BadRoleOrder { get; init; }

    /// <summary>Examples with no learned token (e.g. no assistant message).</summary>
    public required IReadOnlyList<int> NothingToLearn { get; init; }

    /// <summary>Examples the template cannot render, with the reason.</summary>
    public required IReadOnlyList<DroppedExample> Unrenderable { get; init; }

    /// <summary>True when no problem list has an entry.</summary>
    public bool IsClean => OverMaxLength.Count == 0 && OverContext.Count == 0 && ExactDuplicates.Count == 0 && WhitespaceDuplicates.Count == 0
        && EmptyResponses.Count == 0 && BadRoleOrder.Count == 0 && NothingToLearn.Count == 0 && Unrenderable.Count == 0;

    /// <summary>The report as text, one finding per line, with up to 10 example indices each.</summary>
    /// <returns>The text.</returns>
    public override string ToString()
    {
        var c = CultureInfo.InvariantCulture;
        var b = new StringBuilder();
        b.Append(c, $"examples: {Examples}, messages: {Messages}, learned tokens: {LearnedTokens}\n");
        b.Append(c, $"tokens per example: min {TokenLengths.Min}, median {TokenLengths.Median:0.#}, p95 {TokenLengths.P95}, max {TokenLengths.Max}\n");
        Line(b, MaxLength is null ? "over max length: no max length set" : $"over max length {MaxLength}", MaxLength is null ? null : OverMaxLength);
        Line(b, ContextLength is null ? "over context: no context length given" : $"over context {ContextLength}", ContextLength is null ? null : OverContext);
        Line(b, "exact duplicates", ExactDuplicates);
        Line(b, "whitespace-normalised duplicates", WhitespaceDuplicates);
        Line(b, "empty responses", EmptyResponses);
        Line(b, "bad role order", BadRoleOrder);
        Line(b, "nothing to learn", NothingToLearn);
        Line(b, "unrenderable", Unrenderable.Select(u => u.Index).ToList());
        return b.ToString();
    }

    private static void Line(StringBuilder b, string label, IReadOnlyList<int>? indices)
    {
        if (indices is null)
        {
            b.Append(label).Append('\n');
            return;
        }

        b.Append(label).Append(": ").Append(indices.Count.ToString(CultureInfo.InvariantCulture));
        if (indices.Count > 0)
        {
            b.Append(" (examples ").Append(string.Join(", ", indices.Take(10).Select(i => i.ToString(CultureInfo.InvariantCulture))));
            b.Append(indices.Count > 10 ? ", ...)" : ")");
        }

        b.Append('\n');
    }
}

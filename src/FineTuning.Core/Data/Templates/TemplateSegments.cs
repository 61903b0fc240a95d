using System;
using System.Collections.Generic;
using System.Linq;

namespace FineTuning.Data.Templates;

/// <summary>Helpers over rendered segments.</summary>
public static class TemplateSegments
{
    /// <summary>The rendered text (special tokens by their spelling), for display and for comparing with a format's documentation.</summary>
    /// <param name="segments">Rendered segments.</param>
    /// <returns>The concatenated text.</returns>
    public static string ToText(this IEnumerable<TemplateSegment> segments)
    {
        ArgumentNullException.ThrowIfNull(segments);
        return string.Concat(segments.Select(s => s.Text));
    }

    /// <summary>The text of the trainable segments only.</summary>
    /// <param name="segments">Rendered segments.</param>
    /// <returns>The concatenated trainable text.</returns>
    public static string TrainableText(this IEnumerable<TemplateSegment> segments)
    {
        ArgumentNullException.ThrowIfNull(segments);
        return string.Concat(segments.Where(s => s.Trainable).Select(s => s.Text));
    }
}

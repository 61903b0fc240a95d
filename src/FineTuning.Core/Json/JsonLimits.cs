namespace FineTuning.Json;

/// <summary>What a JSON file may contain beyond strict JSON, and how deep it may nest.</summary>
/// <param name="MaxDepth">Deepest nesting of objects and arrays accepted (every file we read needs far less than 64).</param>
/// <param name="AllowComments">Skip <c>//</c> and <c>/* */</c> comments instead of refusing them.</param>
/// <param name="AllowTrailingCommas">Accept a comma before <c>]</c> or <c>}</c>.</param>
internal readonly record struct JsonLimits(int MaxDepth = JsonLimits.DefaultMaxDepth, bool AllowComments = false, bool AllowTrailingCommas = false)
{
    /// <summary>The depth limit used unless a reader says otherwise.</summary>
    internal const int DefaultMaxDepth = 64;

    /// <summary>Strict JSON nested at most <see cref="DefaultMaxDepth"/> deep.</summary>
    internal static JsonLimits Strict => new(DefaultMaxDepth);
}

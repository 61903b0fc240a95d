using System.Text.Json;
using FineTuning.Json;

namespace FineTuning.Models.Tokenizers;

/// <summary>
/// How tokenizer.json and tokenizer_config.json are parsed and read: through <see cref="JsonInput"/> and
/// <see cref="JsonFieldReader"/>, every failure a <see cref="ModelFileException"/> naming the file, the JSON path of
/// the field (<c>model.merges[3]</c>) and, where known, the line.
/// </summary>
internal static class TokenizerJson
{
    /// <summary>tokenizer.json nests pre-tokenizer and normalizer sequences; real files stay far below this.</summary>
    internal const int MaxDepth = 64;

    /// <summary>A field reader whose errors name <paramref name="fileName"/>.</summary>
    internal static JsonFieldReader For(string fileName) => new(Errors(fileName));

    /// <summary>Parses one file's text (trailing commas are accepted, as the tokenizers library's serde reader does not emit them but tolerant tools do).</summary>
    internal static JsonDocument Parse(string text, string fileName) =>
        JsonInput.Parse(text, Errors(fileName), new JsonLimits(MaxDepth, AllowTrailingCommas: true));

    private static JsonErrorFactory Errors(string fileName) => (field, line, problem) =>
    {
        string where = (field, line) switch
        {
            (null, > 0) => $"line {line}",
            (null, _) => "(root)",
            (_, > 0) => $"field '{field}' (line {line})",
            _ => $"field '{field}'",
        };
        return new ModelFileException(fileName, $"{where}: {problem.TrimEnd('.')}.", null);
    };
}

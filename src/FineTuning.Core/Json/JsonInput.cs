using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace FineTuning.Json;

/// <summary>
/// The one way our readers turn JSON text into a <see cref="JsonDocument"/>. Before the document is built, one pass
/// over the text refuses what System.Text.Json would otherwise let through or throw about later with an untyped
/// exception: syntax errors, nesting deeper than <see cref="JsonLimits.MaxDepth"/>, comments (unless allowed), a key
/// that appears twice in one object, and escapes that decode to invalid UTF-16 (a lone surrogate such as
/// <c>"\ud800"</c>, on which <see cref="JsonElement.GetString"/> throws InvalidOperationException). Every refusal is
/// the caller's typed exception, made by its <see cref="JsonErrorFactory"/> with the JSON path and the line. After
/// this pass, reading any string or property name of the document cannot throw.
/// </summary>
internal static class JsonInput
{
    /// <summary>Reads and parses a whole file; a missing or unreadable file is refused through <paramref name="error"/> too.</summary>
    internal static JsonDocument ParseFile(string path, JsonErrorFactory error, JsonLimits limits)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw error(null, 0, $"cannot be read ({e.Message})");
        }

        return Parse(bytes, error, limits);
    }

    /// <summary>Parses <paramref name="text"/> (lines counted from <paramref name="firstLine"/>).</summary>
    internal static JsonDocument Parse(string text, JsonErrorFactory error, JsonLimits limits, long firstLine = 1) =>
        Parse(Encoding.UTF8.GetBytes(text), error, limits, firstLine);

    /// <summary>Parses UTF-8 bytes (a leading byte-order mark is skipped).</summary>
    internal static JsonDocument Parse(ReadOnlyMemory<byte> utf8, JsonErrorFactory error, JsonLimits limits, long firstLine = 1)
    {
        if (utf8.Span.StartsWith(Encoding.UTF8.Preamble)) utf8 = utf8[Encoding.UTF8.Preamble.Length..];
        Validate(utf8.Span, error, limits, firstLine);
        try
        {
            return JsonDocument.Parse(utf8, DocumentOptions(limits));
        }
        catch (JsonException e)
        {
            // Validate accepted the same text under the same options; kept as a typed refusal all the same.
            throw error(null, firstLine + (e.LineNumber ?? 0), $"not valid JSON ({e.Message})");
        }
    }

    /// <summary>Options equal to the ones <see cref="Validate"/> checked against.</summary>
    internal static JsonDocumentOptions DocumentOptions(JsonLimits limits) => new()
    {
        MaxDepth = limits.MaxDepth,
        AllowTrailingCommas = limits.AllowTrailingCommas,
        CommentHandling = limits.AllowComments ? JsonCommentHandling.Skip : JsonCommentHandling.Disallow,
        AllowDuplicateProperties = false,
    };

    /// <summary>One pass over the text; throws the caller's exception at the first problem.</summary>
    internal static void Validate(ReadOnlySpan<byte> utf8, JsonErrorFactory error, JsonLimits limits, long firstLine = 1)
    {
        // Utf8JsonReader checks the structure, not the UTF-8 inside strings (GetString would throw on it later).
        if (!Utf8.IsValid(utf8))
        {
            long bad = FirstInvalidUtf8(utf8);
            throw error(null, LineAt(utf8, bad, firstLine), $"byte {bad} is not valid UTF-8");
        }

        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions
        {
            // One more than the limit so that the depth problem is reported by us, with its path.
            MaxDepth = limits.MaxDepth + 1,
            AllowTrailingCommas = limits.AllowTrailingCommas,
            CommentHandling = limits.AllowComments ? JsonCommentHandling.Skip : JsonCommentHandling.Disallow,
        });
        var path = new JsonPathStack();
        try
        {
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject:
                    case JsonTokenType.StartArray:
                        if (reader.CurrentDepth >= limits.MaxDepth)
                        {
                            throw error(path.Text(), LineAt(utf8, reader.TokenStartIndex, firstLine), $"nested deeper than {limits.MaxDepth} levels");
                        }

                        path.Open(reader.TokenType == JsonTokenType.StartArray);
                        break;
                    case JsonTokenType.EndObject:
                    case JsonTokenType.EndArray:
                        path.Close();
                        break;
                    case JsonTokenType.PropertyName:
                        string? name = Decode(ref reader);
                        if (name is null)
                        {
                            throw error(path.Text(), LineAt(utf8, reader.TokenStartIndex, firstLine), "a key holds an escape that is not valid UTF-16 (a lone surrogate)");
                        }

                        if (!path.AddName(name))
                        {
                            throw error(path.Text(), LineAt(utf8, reader.TokenStartIndex, firstLine), $"the key \"{name}\" appears more than once in this object");
                        }

                        break;
                    case JsonTokenType.String:
                        if (reader.ValueIsEscaped && Decode(ref reader) is null)
                        {
                            throw error(path.Text(), LineAt(utf8, reader.TokenStartIndex, firstLine), "the string holds an escape that is not valid UTF-16 (a lone surrogate)");
                        }

                        path.Value();
                        break;
                    default:
                        path.Value();
                        break;
                }
            }
        }
        catch (JsonException e)
        {
            throw error(path.Text(), firstLine + (e.LineNumber ?? 0), $"not valid JSON ({e.Message})");
        }
    }

    /// <summary>1-based line of a byte offset (counted only when a problem is reported).</summary>
    private static long LineAt(ReadOnlySpan<byte> utf8, long offset, long firstLine) =>
        firstLine + utf8[..(int)Math.Min(offset, utf8.Length)].Count((byte)'\n');

    private static long FirstInvalidUtf8(ReadOnlySpan<byte> utf8)
    {
        int at = 0;
        while (at < utf8.Length)
        {
            if (Rune.DecodeFromUtf8(utf8[at..], out _, out int consumed) != System.Buffers.OperationStatus.Done) return at;
            at += consumed;
        }

        return at;
    }

    private static string? Decode(ref Utf8JsonReader reader)
    {
        try
        {
            return reader.GetString();
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }
}

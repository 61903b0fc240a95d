using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Text.Json;
using FineTuning.Json;

namespace FineTuning.Models.Tokenizers;

/// <summary>One step of a tokenizer.json <c>decoder</c>: maps the list of token strings to a new list (HF's <c>decode_chain</c>).</summary>
internal interface IHfDecoder
{
    List<string> Decode(List<string> tokens);
}

/// <summary>Builds the decoders of https://huggingface.co/docs/tokenizers/api/decoders from JSON.</summary>
internal static class HfDecoders
{
    internal static IHfDecoder? Read(JsonFieldReader json, JsonElement? element, string path)
    {
        if (element is not { } e) return null;
        string type = json.RequiredString(e, path, "type");
        return type switch
        {
            "Sequence" => new Chain(json.Array(json.Required(e, path, "decoders"), path + ".decoders").Select(d => Read(json, d.Item, d.Path)!).ToArray()),
            "ByteLevel" => new ByteLevel(),
            "ByteFallback" => new ByteFallback(),
            "Fuse" => new Fuse(),
            "Strip" => new Strip(json.RequiredString(e, path, "content"), json.OptionalInt(e, path, "start", 0), json.OptionalInt(e, path, "stop", 0)),
            "Replace" => new Replace(HfPattern.Read(json, json.Required(e, path, "pattern"), path + ".pattern"), json.RequiredString(e, path, "content")),
            "Metaspace" => new Metaspace(HfMetaspace.Read(json, e, path)),
            "WordPiece" => new WordPiece(json.OptionalString(e, path, "prefix") ?? "##", json.OptionalBool(e, path, "cleanup", true)),
            _ => throw json.Error(path + ".type", $"decoder '{type}' is not supported."),
        };
    }

    private sealed class Chain(IHfDecoder[] steps) : IHfDecoder
    {
        public List<string> Decode(List<string> tokens)
        {
            foreach (IHfDecoder step in steps) tokens = step.Decode(tokens);
            return tokens;
        }
    }

    private sealed class ByteLevel : IHfDecoder
    {
        public List<string> Decode(List<string> tokens)
        {
            var bytes = new List<byte>();
            foreach (string token in tokens) ByteLevelAlphabet.AppendBytes(token, bytes);
            return [Encoding.UTF8.GetString(bytes.ToArray())];
        }
    }

    /// <summary>Runs of <c>&lt;0xNN&gt;</c> tokens become their UTF-8 text, or one U+FFFD per byte when invalid (as HF).</summary>
    private sealed class ByteFallback : IHfDecoder
    {
        private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

        public List<string> Decode(List<string> tokens)
        {
            var output = new List<string>(tokens.Count);
            var pending = new List<byte>();
            void Flush()
            {
                if (pending.Count == 0) return;
                try
                {
                    output.Add(Strict.GetString(pending.ToArray()));
                }
                catch (DecoderFallbackException)
                {
                    output.AddRange(Enumerable.Repeat("\uFFFD", pending.Count));
                }
                pending.Clear();
            }
            foreach (string token in tokens)
            {
                if (TryParseByte(token, out byte b))
                {
                    pending.Add(b);
                    continue;
                }
                Flush();
                output.Add(token);
            }
            Flush();
            return output;
        }
    }

    internal static bool TryParseByte(string token, out byte value)
    {
        value = 0;
        return token.Length == 6 && token.StartsWith("<0x", StringComparison.Ordinal) && token[5] == '>'
            && byte.TryParse(token.AsSpan(3, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
    }

    private sealed class Fuse : IHfDecoder
    {
        public List<string> Decode(List<string> tokens) => [string.Concat(tokens)];
    }

    private sealed class Strip(string content, int start, int stop) : IHfDecoder
    {
        public List<string> Decode(List<string> tokens)
        {
            if (content.Length != 1) return tokens;
            char c = content[0];
            return tokens.Select(t =>
            {
                int from = 0;
                while (from < start && from < t.Length && t[from] == c) from++;
                int to = t.Length;
                while (t.Length - to < stop && to > from && t[to - 1] == c) to--;
                return t[from..to];
            }).ToList();
        }
    }

    private sealed class Replace(HfPattern pattern, string content) : IHfDecoder
    {
        public List<string> Decode(List<string> tokens) => tokens.Select(t => pattern.Replace(t, content)).ToList();
    }

    private sealed class Metaspace(HfMetaspace meta) : IHfDecoder
    {
        // As tokenizers' Metaspace::decode_chain: in the first token every replacement character is dropped (not
        // only a leading one) unless the scheme is "never"; elsewhere it becomes a space.
        public List<string> Decode(List<string> tokens) => tokens.Select((t, i) =>
            i == 0 && meta.PrependScheme != "never"
                ? t.Replace(meta.Replacement.ToString(), string.Empty, StringComparison.Ordinal)
                : t.Replace(meta.Replacement, ' ')).ToList();
    }

    private sealed class WordPiece(string prefix, bool cleanup) : IHfDecoder
    {
        private static readonly (string From, string To)[] Cleanups =
        [
            (" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"), (" 'm", "'m"),
            (" do not", " don't"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re"),
        ];

        public List<string> Decode(List<string> tokens) => tokens.Select((t, i) =>
        {
            string text = i == 0 ? t : t.StartsWith(prefix, StringComparison.Ordinal) ? t[prefix.Length..] : " " + t;
            if (cleanup)
            {
                foreach ((string from, string to) in Cleanups) text = text.Replace(from, to, StringComparison.Ordinal);
            }
            return text;
        }).ToList();
    }
}

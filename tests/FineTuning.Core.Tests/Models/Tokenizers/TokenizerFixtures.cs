using System;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json.Nodes;
using FineTuning.Models.Tokenizers;
using FsCheck;
using FsCheck.Fluent;

namespace FineTuning.Core.Tests.Models.Tokenizers;

/// <summary>The hand-written tokenizer.json fixtures (tests/.../Tokenizers/Fixtures) and text generators.</summary>
internal static class TokenizerFixtures
{
    internal const string ByteLevel = "bytelevel-bpe.tokenizer.json";
    internal const string SentencePiece = "sentencepiece-bpe.tokenizer.json";
    internal const string WordPiece = "wordpiece.tokenizer.json";

    internal static string PathOf(string name) => Path.Combine(AppContext.BaseDirectory, "Models", "Tokenizers", "Fixtures", name);

    internal static string Text(string name) => File.ReadAllText(PathOf(name));

    internal static HfTokenizer Load(string name) => HfTokenizer.Load(PathOf(name));

    /// <summary>The fixture with <paramref name="edit"/> applied to its JSON tree.</summary>
    internal static string Edited(string name, Action<JsonObject> edit)
    {
        JsonObject root = JsonNode.Parse(Text(name))!.AsObject();
        edit(root);
        return root.ToJsonString();
    }

    /// <summary>Text mixing ASCII, whitespace runs, accents, CJK, emoji (surrogate pairs) and random scalar values.</summary>
    internal static Gen<string> UnicodeText(Func<string, bool> allowed)
    {
        string[] pool = ["a", "b", "the", " ", "  ", "\t", "\n", "\r\n", "é", "ß", "中文", "😀", "👩‍💻", "123", "'s", ".", "!?", "\u00A0", "\u0301"];
        Gen<string> scalar = Gen.OneOf(Gen.Choose(0x20, 0xD7FF), Gen.Choose(0xE000, 0xFFFD), Gen.Choose(0x10000, 0x10FFFF))
            .Select(char.ConvertFromUtf32);
        Gen<string> part = Gen.Frequency((3, Gen.Elements(pool)), (1, scalar));
        return Gen.ArrayOf(part).Select(parts => string.Concat(parts)).Where(allowed);
    }

    internal static bool IsValidUtf16(string s) => !s.EnumerateRunes().Any(r => r.Value == 0xFFFD) && Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(s)) == s;
}

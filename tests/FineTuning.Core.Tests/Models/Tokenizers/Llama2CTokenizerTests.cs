using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using FineTuning.Models;
using FineTuning.Models.Tokenizers;
using FineTuning.Testing;
using Xunit;

namespace FineTuning.Core.Tests.Models.Tokenizers;

public sealed class Llama2CTokenizerTests : IDisposable
{
    // A vocabulary in llama2.c's layout: <unk>, BOS, EOS, 256 byte tokens, then pieces with scores.
    private static readonly (string Piece, float Score)[] Pieces =
    {
        (" ", -100), ("a", -100), ("b", -100), ("c", -100), ("ab", -1), (" a", -2), (" ab", -3),
    };

    private const int Space = 259, A = 260, B = 261, C = 262, AB = 263, SpaceA = 264, SpaceAB = 265;

    private readonly TempDirectory dir = new("finetuning-tok-");

    public void Dispose() => dir.Dispose();

    [Fact]
    public void Encode_MergesHighestScoringPairFirst()
    {
        Llama2CTokenizer tokenizer = Llama2CTokenizer.Load(WriteVocabulary("tok.bin"));

        // " a b c": "ab" (-1) beats " a" (-2); then " " + "ab" = " ab" (-3).
        Assert.Equal(new[] { 1, SpaceAB, C }, tokenizer.Encode("abc", addBos: true));
        Assert.Equal(new[] { SpaceA, Space, C }, tokenizer.Encode("a c", addBos: false));
        Assert.Empty(tokenizer.Encode(string.Empty, addBos: false));
        Assert.Equal(new[] { 1 }, tokenizer.Encode(string.Empty, addBos: true));
    }

    [Fact]
    public void Encode_UnknownCharacter_FallsBackToUtf8ByteTokens()
    {
        Llama2CTokenizer tokenizer = Llama2CTokenizer.Load(WriteVocabulary("tok.bin"));

        // "é" is not a piece: its UTF-8 bytes C3 A9 become byte tokens 0xC3 + 3 and 0xA9 + 3.
        Assert.Equal(new[] { 1, SpaceA, 0xC3 + 3, 0xA9 + 3 }, tokenizer.Encode("aé", addBos: true));
        Assert.Equal(new[] { 1, SpaceA, 0xC3 + 3, 0xA9 + 3, 2 }, tokenizer.Encode("aé", addBos: true, addEos: true));
    }

    [Fact]
    public void Decode_StripsSpaceAfterBosAndJoinsByteTokens()
    {
        Llama2CTokenizer tokenizer = Llama2CTokenizer.Load(WriteVocabulary("tok.bin"));

        Assert.Equal("abcé", tokenizer.Decode(new[] { 1, SpaceAB, C, 0xC3 + 3, 0xA9 + 3, 2 }));
        Assert.Equal(" abc", tokenizer.Decode(new[] { SpaceAB, C }));
        Assert.Equal("\n", tokenizer.Decode(new[] { '\n' + 3 }));
        Assert.Equal("a c", tokenizer.Decode(tokenizer.Encode("a c", addBos: true)));
    }

    [Theory]
    [InlineData(3, 266)]
    [InlineData(3, null)]
    [InlineData(1000, null)]
    public void Load_TruncatedFile_ThrowsNamingFile(int cutBytes, int? vocabSize)
    {
        string path = WriteVocabulary("truncated.bin");
        using (var stream = new FileStream(path, FileMode.Open)) stream.SetLength(stream.Length - cutBytes);

        ModelFileException e = Assert.Throws<ModelFileException>(() => Llama2CTokenizer.Load(path, vocabSize));

        Assert.Equal(path, e.FilePath);
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_ImpossibleLengths_Throws()
    {
        string path = Path.Combine(dir.Path, "bad.bin");
        File.WriteAllBytes(path, BitConverter.GetBytes(-7).Concat(new byte[64]).ToArray());

        ModelFileException e = Assert.Throws<ModelFileException>(() => Llama2CTokenizer.Load(path));

        Assert.Contains("max_token_length=-7", e.Message, StringComparison.Ordinal);
    }

    private string WriteVocabulary(string name)
    {
        var entries = new List<(byte[] Bytes, float Score)>
        {
            (Encoding.UTF8.GetBytes("<unk>"), 0), (Encoding.UTF8.GetBytes("\n<s>\n"), 0), (Encoding.UTF8.GetBytes("\n</s>\n"), 0),
        };
        entries.AddRange(Enumerable.Range(0, 256).Select(b => (Encoding.ASCII.GetBytes($"<0x{b:X2}>"), 0f)));
        entries.AddRange(Pieces.Select(p => (Encoding.UTF8.GetBytes(p.Piece), p.Score)));
        string path = Path.Combine(dir.Path, name);
        using var writer = new BinaryWriter(File.Create(path));
        writer.Write(entries.Max(e => e.Bytes.Length));
        foreach ((byte[] bytes, float score) in entries)
        {
            writer.Write(score);
            writer.Write(bytes.Length);
            writer.Write(bytes);
        }

        return path;
    }
}

using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using FineTuning.Models.Tokenizers;
using FineTuning.Testing;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Xunit;

namespace FineTuning.Core.Tests.Models.Tokenizers;

/// <summary>A llama2.c vocabulary written as tokenizer.json encodes, through our HfTokenizer, to llama2.c's ids.</summary>
public sealed class Llama2CTokenizerJsonTests : IDisposable
{
    // Single characters first (scores are irrelevant for them), then merged pieces with distinct scores, SentencePiece-style.
    private static readonly string[] Merged = { "ab", " a", " ab", "bc", "abc", " c", "ca", "é ", " é", "cab", "bb", " abc", "中文" };
    private static readonly string[] Singles = { " ", "a", "b", "c", "é", "中", "文" };
    private static readonly string[] Pool = { " ", "a", "b", "c", "é", "中", "文", "😀", "\n", "ab", " abc", "x", "\u00A0" };

    private readonly TempDirectory dir = new("finetuning-tokjson-");

    public void Dispose() => dir.Dispose();

    [Property(MaxTest = 300, Replay = "(20261206,7)")]
    public Property HfTokenizerFromJson_SyntheticVocabulary_SameIdsAsLlama2C() =>
        Prop.ForAll(Gen.ArrayOf(Gen.Elements(Pool)).Select(string.Concat).ToArbitrary(), text =>
        {
            (Llama2CTokenizer ours, HfTokenizer hf) = Synthetic();
            Assert.Equal(ours.Encode(text, addBos: true), hf.Encode(text, addBos: true));
        });

    [Fact]
    public void ToTokenizerJson_SyntheticVocabulary_HighestScoringMergeFirst_SpecialsAndBytes()
    {
        (Llama2CTokenizer ours, HfTokenizer hf) = Synthetic();

        // "abc" with the dummy prefix: " ab" wins over "bc" only because " a" (-1) and "ab" (0) come first.
        Assert.Equal(ours.Encode(" abc", addBos: false), hf.Encode(" abc", addBos: false));
        Assert.Equal(1, hf.BosId);
        Assert.Equal(2, hf.EosId);
        Assert.Equal("<0x0A>", hf.IdToToken(3 + '\n'));
        Assert.Equal(new[] { 1, 259 + Singles.Length + Array.IndexOf(Merged, " a"), 3 + 'x' }, hf.Encode("ax", addBos: true));
        Assert.Equal("abc x", hf.Decode(hf.Encode("abc x", addBos: true)));
    }

    [SkippableFact]
    public void HfTokenizerFromJson_Stories260KVocabulary_SameIdsOnCorpus()
    {
        string models = ModelFiles.Stories260K();
        Llama2CTokenizer ours = Llama2CTokenizer.Load(Path.Combine(models, "tok512.bin"));
        HfTokenizer hf = HfTokenizer.Parse(ours.ToTokenizerJson());
        var corpus = new List<string> { string.Empty, " ", "\t\r\n", "x\u0301", "THE END", "Tom and Sue played with the big red ball all day long!" };
        corpus.AddRange(TextCorpus.Mixed(seed: 20261207, count: 400));
        foreach (string text in corpus)
        {
            Assert.Equal(ours.Encode(text, addBos: true), hf.Encode(text, addBos: true));
            Assert.Equal(ours.Decode(ours.Encode(text, addBos: true)), hf.Decode(hf.Encode(text, addBos: true)));
        }
    }

    private (Llama2CTokenizer Ours, HfTokenizer Hf) Synthetic()
    {
        var entries = new List<(byte[] Bytes, float Score)>
        {
            (Encoding.UTF8.GetBytes("<unk>"), 0), (Encoding.UTF8.GetBytes("\n<s>\n"), 0), (Encoding.UTF8.GetBytes("\n</s>\n"), 0),
        };
        entries.AddRange(Enumerable.Range(0, 256).Select(b => (Encoding.ASCII.GetBytes($"<0x{b:X2}>"), 0f)));
        entries.AddRange(Singles.Select(s => (Encoding.UTF8.GetBytes(s), -1000f)));
        entries.AddRange(Merged.Select((m, i) => (Encoding.UTF8.GetBytes(m), (float)-i)));
        string path = Path.Combine(dir.Path, $"tok-{Guid.NewGuid():N}.bin");
        using (var writer = new BinaryWriter(File.Create(path)))
        {
            writer.Write(entries.Max(e => e.Bytes.Length));
            foreach ((byte[] bytes, float score) in entries)
            {
                writer.Write(score);
                writer.Write(bytes.Length);
                writer.Write(bytes);
            }
        }

        Llama2CTokenizer ours = Llama2CTokenizer.Load(path);
        return (ours, HfTokenizer.Parse(ours.ToTokenizerJson()));
    }
}

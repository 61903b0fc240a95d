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

/// <summary>
/// The priority-queue merge of <see cref="Llama2CTokenizer"/> against run.c's quadratic scan (<see cref="NaiveLlama2CEncoder"/>):
/// same ids on random text over a vocabulary full of tied scores, and work that grows like n log n.
/// </summary>
public sealed class Llama2CMergeTests : IDisposable
{
    private static readonly string[] Merges = ["ab", "ba", "aa", "bb", "ca", " a", " b", "abc", "aab", "bab", "abab", "cc", " ab", "é", "aé", "éa"];
    private readonly TempDirectory dir = new("finetuning-merge-");
    private readonly string path;

    public Llama2CMergeTests()
    {
        path = Path.Combine(dir.Path, "tok.bin");
        WriteTokenizer(path);
    }

    public void Dispose() => dir.Dispose();

    /// <summary>Text over a small alphabet, so that many merges (and many ties) apply.</summary>
    public static Arbitrary<string> Texts() =>
        Gen.ArrayOf(Gen.Elements('a', 'b', 'c', ' ', 'é', 'z', '\u4e2d')).Select(chars => new string(chars)).ToArbitrary();

    [Property(MaxTest = 300, Arbitrary = [typeof(Llama2CMergeTests)])]
    public bool Encode_RandomText_EqualsRunCScan(string text)
    {
        Llama2CTokenizer tokenizer = Llama2CTokenizer.Load(path);
        var reference = new NaiveLlama2CEncoder(path);
        return tokenizer.Encode(text, addBos: true).SequenceEqual(reference.Encode(text, bos: true));
    }

    [Fact]
    public void MergePairs_DoubleTheInput_LessThanTripleTheWork()
    {
        Llama2CTokenizer tokenizer = Llama2CTokenizer.Load(path);
        string unit = RandomText(new Random(5), 100_000);

        long small = tokenizer.MergePairs(tokenizer.Pieces(unit, addBos: false, dummyPrefix: true));
        long large = tokenizer.MergePairs(tokenizer.Pieces(unit + unit, addBos: false, dummyPrefix: true));

        // A queue costs O(n log n): doubling n multiplies the work by a little over 2; the old scan multiplied it by 4.
        Assert.InRange((double)large / small, 1.8, 3.0);
    }

    [SkippableFact]
    public void Encode_200000CharactersWithRealVocabulary_EqualsRunCScanOnAPrefixAndStaysNearLinear()
    {
        string tok = Path.Combine(ModelFiles.Stories260K(), "tok512.bin");
        Llama2CTokenizer tokenizer = Llama2CTokenizer.Load(tok);
        string text = string.Concat(Enumerable.Repeat("Once upon a time, there was a little girl named Lily. She loved to play outside. ", 2_500))[..200_000];

        List<int> pieces = tokenizer.Pieces(text, addBos: true, dummyPrefix: true);
        long work = tokenizer.MergePairs(pieces);

        Assert.True(work < 40L * text.Length, $"{work} queue operations for {text.Length} characters");
        Assert.Equal(new NaiveLlama2CEncoder(tok).Encode(text[..2_000], bos: true), tokenizer.Encode(text[..2_000], addBos: true));
    }

    private static string RandomText(Random random, int length)
    {
        const string alphabet = "abc é";
        return new string(Enumerable.Range(0, length).Select(_ => alphabet[random.Next(alphabet.Length)]).ToArray());
    }

    /// <summary>3 specials, 256 byte tokens, single characters, then merges whose scores repeat (ties) and include a NaN and a -1e10.</summary>
    private static void WriteTokenizer(string file)
    {
        var pieces = new List<(float Score, byte[] Bytes)> { (0, "<unk>"u8.ToArray()), (0, "<s>"u8.ToArray()), (0, "</s>"u8.ToArray()) };
        for (int b = 0; b < 256; b++) pieces.Add((0, Encoding.ASCII.GetBytes($"<0x{b:X2}>")));
        foreach (string c in new[] { " ", "a", "b", "c" }) pieces.Add((-100, Encoding.UTF8.GetBytes(c)));
        float[] scores = [-1, -2, -1, -3, -2, -1, -1, float.NaN, -2, -1e10f, -1, -3, -1, -2, -1, -2];
        for (int i = 0; i < Merges.Length; i++) pieces.Add((scores[i], Encoding.UTF8.GetBytes(Merges[i])));
        using var writer = new BinaryWriter(File.Create(file));
        writer.Write(pieces.Max(p => p.Bytes.Length));
        foreach ((float score, byte[] bytes) in pieces)
        {
            writer.Write(score);
            writer.Write(bytes.Length);
            writer.Write(bytes);
        }
    }
}

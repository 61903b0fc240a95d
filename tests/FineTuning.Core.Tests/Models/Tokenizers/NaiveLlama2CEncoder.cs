using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;

namespace FineTuning.Core.Tests.Models.Tokenizers;

/// <summary>A line-by-line transcription of llama2.c's run.c <c>encode</c> (reads the file itself), as a reference.</summary>
internal sealed class NaiveLlama2CEncoder
{
    private readonly List<byte[]> vocab = new();
    private readonly List<float> scores = new();
    private readonly Dictionary<string, int> index = new();

    internal NaiveLlama2CEncoder(string path)
    {
        using var reader = new BinaryReader(File.OpenRead(path));
        reader.ReadInt32();
        while (reader.BaseStream.Position < reader.BaseStream.Length)
        {
            scores.Add(reader.ReadSingle());
            vocab.Add(reader.ReadBytes(reader.ReadInt32()));
        }
    }

    internal List<int> Encode(string text, bool bos)
    {
        var tokens = new List<int>();
        if (bos) tokens.Add(1);
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        if (bytes.Length > 0) tokens.Add(Lookup(new[] { (byte)' ' }));
        var buffer = new List<byte>();
        for (int c = 0; c < bytes.Length; c++)
        {
            if ((bytes[c] & 0xC0) != 0x80) buffer.Clear();
            buffer.Add(bytes[c]);
            if (c + 1 < bytes.Length && (bytes[c + 1] & 0xC0) == 0x80 && buffer.Count < 4) continue;
            int id = Lookup(buffer.ToArray());
            if (id != -1) tokens.Add(id);
            else tokens.AddRange(buffer.Select(b => b + 3));
            buffer.Clear();
        }

        while (true)
        {
            float bestScore = -1e10f;
            int bestId = -1, bestIndex = -1;
            for (int i = 0; i < tokens.Count - 1; i++)
            {
                int id = Lookup(vocab[tokens[i]].Concat(vocab[tokens[i + 1]]).ToArray());
                if (id != -1 && scores[id] > bestScore)
                {
                    bestScore = scores[id];
                    bestId = id;
                    bestIndex = i;
                }
            }

            if (bestIndex == -1) break;
            tokens[bestIndex] = bestId;
            tokens.RemoveAt(bestIndex + 1);
        }

        return tokens;
    }

    // run.c binary-searches a sorted copy of the vocabulary; a dictionary of the first id per byte string is equivalent.
    private int Lookup(byte[] piece)
    {
        if (index.Count == 0)
        {
            for (int i = 0; i < vocab.Count; i++) index.TryAdd(Convert.ToHexString(vocab[i]), i);
        }

        return index.TryGetValue(Convert.ToHexString(piece), out int id) ? id : -1;
    }
}

using System;
using System.IO;
using System.Linq;

namespace FineTuning.Core.Tests.Models.Llama;

/// <summary>
/// A tiny llama2.c checkpoint with known random weights, its file writer, and a plain C# transcription of
/// llama2.c's run.c forward pass (pairwise RoPE on adjacent dimensions 2i, 2i+1): the independent
/// reference for the checkpoint loader's layout conversion.
/// </summary>
internal sealed class Llama2CReference
{
    internal const int Dim = 16, Hidden = 24, Layers = 2, Heads = 4, KvHeads = 2, Vocab = 20, SeqLen = 8;
    internal const int HeadSize = Dim / Heads, KvDim = KvHeads * HeadSize;

    private readonly float[] embedding, rmsAtt, wq, wk, wv, wo, rmsFfn, w1, w2, w3, rmsFinal, wcls;

    internal Llama2CReference(int seed, bool shared)
    {
        var random = new Random(seed);
        float[] Next(int n, float scale = 0.5f, float offset = 0) =>
            Enumerable.Range(0, n).Select(_ => offset + (scale * ((2 * random.NextSingle()) - 1))).ToArray();
        Shared = shared;
        embedding = Next(Vocab * Dim);
        rmsAtt = Next(Layers * Dim, 0.2f, 1);
        wq = Next(Layers * Dim * Dim);
        wk = Next(Layers * KvDim * Dim);
        wv = Next(Layers * KvDim * Dim);
        wo = Next(Layers * Dim * Dim);
        rmsFfn = Next(Layers * Dim, 0.2f, 1);
        w1 = Next(Layers * Hidden * Dim);
        w2 = Next(Layers * Dim * Hidden);
        w3 = Next(Layers * Hidden * Dim);
        rmsFinal = Next(Dim, 0.2f, 1);
        wcls = shared ? embedding : Next(Vocab * Dim);
    }

    internal bool Shared { get; }

    internal void Write(string path)
    {
        using var writer = new BinaryWriter(File.Create(path));
        foreach (int v in new[] { Dim, Hidden, Layers, Heads, KvHeads, Shared ? Vocab : -Vocab, SeqLen }) writer.Write(v);
        foreach (float[] a in new[] { embedding, rmsAtt, wq, wk, wv, wo, rmsFfn, w1, w2, w3, rmsFinal })
        {
            foreach (float f in a) writer.Write(f);
        }

        // The legacy RoPE tables: garbage, the loader must skip them.
        for (int i = 0; i < 2 * SeqLen * HeadSize / 2; i++) writer.Write(12345f);
        if (!Shared)
        {
            foreach (float f in wcls) writer.Write(f);
        }
    }

    /// <summary>Logits [tokens.Length][Vocab], computed position by position with a KV cache, as run.c.</summary>
    internal double[][] Forward(int[] tokens)
    {
        var keyCache = new double[Layers, tokens.Length, KvDim];
        var valueCache = new double[Layers, tokens.Length, KvDim];
        var result = new double[tokens.Length][];
        for (int pos = 0; pos < tokens.Length; pos++)
        {
            double[] x = Enumerable.Range(0, Dim).Select(i => (double)embedding[(tokens[pos] * Dim) + i]).ToArray();
            for (int l = 0; l < Layers; l++)
            {
                double[] xb = RmsNorm(x, rmsAtt, l * Dim);
                double[] q = MatVec(wq, l * Dim * Dim, Dim, Dim, xb);
                double[] k = MatVec(wk, l * KvDim * Dim, KvDim, Dim, xb);
                double[] v = MatVec(wv, l * KvDim * Dim, KvDim, Dim, xb);
                for (int i = 0; i < Dim; i += 2)
                {
                    int headDim = i % HeadSize;
                    double angle = pos * (1.0 / Math.Pow(10000.0, headDim / (double)HeadSize));
                    Rotate(q, i, angle);
                    if (i < KvDim) Rotate(k, i, angle);
                }

                for (int i = 0; i < KvDim; i++)
                {
                    keyCache[l, pos, i] = k[i];
                    valueCache[l, pos, i] = v[i];
                }

                var attended = new double[Dim];
                for (int h = 0; h < Heads; h++)
                {
                    int kvOffset = h / (Heads / KvHeads) * HeadSize;
                    var scores = new double[pos + 1];
                    for (int t = 0; t <= pos; t++)
                    {
                        double s = 0;
                        for (int i = 0; i < HeadSize; i++) s += q[(h * HeadSize) + i] * keyCache[l, t, kvOffset + i];
                        scores[t] = s / Math.Sqrt(HeadSize);
                    }

                    double max = scores.Max();
                    double[] weights = scores.Select(s => Math.Exp(s - max)).ToArray();
                    double sum = weights.Sum();
                    for (int t = 0; t <= pos; t++)
                    {
                        for (int i = 0; i < HeadSize; i++) attended[(h * HeadSize) + i] += weights[t] / sum * valueCache[l, t, kvOffset + i];
                    }
                }

                double[] attnOut = MatVec(wo, l * Dim * Dim, Dim, Dim, attended);
                for (int i = 0; i < Dim; i++) x[i] += attnOut[i];

                xb = RmsNorm(x, rmsFfn, l * Dim);
                double[] gate = MatVec(w1, l * Hidden * Dim, Hidden, Dim, xb);
                double[] up = MatVec(w3, l * Hidden * Dim, Hidden, Dim, xb);
                double[] hb = gate.Select((g, i) => g / (1 + Math.Exp(-g)) * up[i]).ToArray();
                double[] down = MatVec(w2, l * Dim * Hidden, Dim, Hidden, hb);
                for (int i = 0; i < Dim; i++) x[i] += down[i];
            }

            result[pos] = MatVec(wcls, 0, Vocab, Dim, RmsNorm(x, rmsFinal, 0));
        }

        return result;
    }

    private static void Rotate(double[] vec, int i, double angle)
    {
        double v0 = vec[i], v1 = vec[i + 1];
        vec[i] = (v0 * Math.Cos(angle)) - (v1 * Math.Sin(angle));
        vec[i + 1] = (v0 * Math.Sin(angle)) + (v1 * Math.Cos(angle));
    }

    private static double[] RmsNorm(double[] x, float[] weight, int offset)
    {
        double ss = (x.Sum(v => v * v) / x.Length) + 1e-5;
        double inv = 1.0 / Math.Sqrt(ss);
        return x.Select((v, i) => weight[offset + i] * v * inv).ToArray();
    }

    /// <summary>W [rows, cols] (row-major at <paramref name="offset"/>) times x.</summary>
    private static double[] MatVec(float[] w, int offset, int rows, int cols, double[] x)
    {
        var y = new double[rows];
        for (int r = 0; r < rows; r++)
        {
            double s = 0;
            for (int c = 0; c < cols; c++) s += w[offset + (r * cols) + c] * x[c];
            y[r] = s;
        }

        return y;
    }
}

using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuning.Models.Llama;

/// <summary>
/// Reads checkpoints in llama2.c's legacy (version 0) format (https://github.com/karpathy/llama2.c, run.c):
/// seven little-endian int32 (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len; a positive
/// vocab_size means the classifier shares the token embedding) followed by float32 weights.
/// </summary>
public static class Llama2CCheckpoint
{
    private const int HeaderBytes = 7 * sizeof(int);

    /// <summary>Reads and validates the header of <paramref name="path"/> as a <see cref="LlamaConfig"/> (RMSNorm eps 1e-5, RoPE theta 10000, as llama2.c).</summary>
    /// <param name="path">The checkpoint file.</param>
    /// <returns>The configuration the file describes.</returns>
    /// <exception cref="ModelFileException">The file is too short or its header values are impossible or inconsistent with the file size.</exception>
    public static LlamaConfig ReadConfig(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using FileStream stream = ModelFileStream.OpenRead(path);
        return ReadHeader(stream, path).Config;
    }

    /// <summary>Loads <paramref name="path"/> into a new <see cref="LlamaForCausalLM"/> in Hugging Face layout.</summary>
    /// <param name="path">The checkpoint file.</param>
    /// <param name="device">Where to place the model (CPU by default).</param>
    /// <returns>The model, in evaluation mode, its <see cref="LlamaForCausalLM.NameOrPath"/> set to <paramref name="path"/>.</returns>
    /// <exception cref="ModelFileException">The file is truncated, or its header values are impossible.</exception>
    public static LlamaForCausalLM Load(string path, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        FineTuningRuntime.EnsureLoaded();
        using FileStream stream = ModelFileStream.OpenRead(path);
        (LlamaConfig config, bool shared, int seqLen) = ReadHeader(stream, path);
        var model = new LlamaForCausalLM(config, device);
        try
        {
            using var scope = torch.NewDisposeScope();
            using var noGrad = torch.no_grad();
            Dictionary<string, Parameter> parameters = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
            var reader = new Reader(stream, path);
            int dim = config.HiddenSize;
            int hidden = config.IntermediateSize;
            int layers = config.NumHiddenLayers;
            int heads = config.NumAttentionHeads;
            int kvHeads = config.EffectiveKeyValueHeads;
            int headDim = config.EffectiveHeadDim;
            int kvDim = kvHeads * headDim;

            void PerLayer(string suffix, long[] shape, Func<Tensor, Tensor>? convert = null)
            {
                for (int l = 0; l < layers; l++)
                {
                    Tensor t = reader.Next(shape);
                    Copy(parameters, $"model.layers.{l}.{suffix}", convert is null ? t : convert(t), path);
                }
            }

            Copy(parameters, "model.embed_tokens.weight", reader.Next(config.VocabSize, dim), path);
            PerLayer("input_layernorm.weight", new long[] { dim });
            PerLayer("self_attn.q_proj.weight", new long[] { dim, dim }, w => PairwiseToRotateHalf(w, heads, headDim));
            PerLayer("self_attn.k_proj.weight", new long[] { kvDim, dim }, w => PairwiseToRotateHalf(w, kvHeads, headDim));
            PerLayer("self_attn.v_proj.weight", new long[] { kvDim, dim });
            PerLayer("self_attn.o_proj.weight", new long[] { dim, dim });
            PerLayer("post_attention_layernorm.weight", new long[] { dim });
            PerLayer("mlp.gate_proj.weight", new long[] { hidden, dim });
            PerLayer("mlp.down_proj.weight", new long[] { dim, hidden });
            PerLayer("mlp.up_proj.weight", new long[] { hidden, dim });
            Copy(parameters, "model.norm.weight", reader.Next(dim), path);
            reader.Skip(2L * seqLen * (headDim / 2) * sizeof(float)); // legacy freq_cis_real / freq_cis_imag tables
            if (!shared)
            {
                Copy(parameters, "lm_head.weight", reader.Next(config.VocabSize, dim), path);
            }
        }
        catch
        {
            model.Dispose();
            throw;
        }

        model.eval();
        model.NameOrPath = path;
        return model;
    }

    /// <summary>
    /// llama2.c rotates adjacent pairs (2i, 2i+1) of each head; HF rotates (i, i + headDim/2). Reordering the
    /// output rows of wq/wk per head as HF's convert_llama_weights_to_hf.py permute does makes the HF
    /// rotation compute the same attention scores.
    /// </summary>
    internal static Tensor PairwiseToRotateHalf(Tensor weight, int heads, int headDim)
    {
        long inFeatures = weight.shape[1];
        return weight.view(heads, headDim / 2, 2, inFeatures).transpose(1, 2).reshape(heads * headDim, inFeatures);
    }

    private static void Copy(Dictionary<string, Parameter> parameters, string key, Tensor value, string path)
    {
        Parameter p = parameters[key];
        if (!p.shape.SequenceEqual(value.shape))
        {
            throw new ModelFileException(path, $"{key} has shape [{string.Join(", ", value.shape)}], the model expects [{string.Join(", ", p.shape)}].", null);
        }

        p.copy_(value);
    }

    private static (LlamaConfig Config, bool Shared, int SeqLen) ReadHeader(FileStream stream, string path)
    {
        Span<byte> header = stackalloc byte[HeaderBytes];
        if (stream.Length < HeaderBytes || stream.ReadAtLeast(header, HeaderBytes, throwOnEndOfStream: false) < HeaderBytes)
        {
            throw new ModelFileException(path, $"truncated llama2.c checkpoint: {stream.Length} bytes, shorter than the {HeaderBytes}-byte header.", null);
        }

        ReadOnlySpan<int> h = MemoryMarshal.Cast<byte, int>(header);
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("llama2.c checkpoints are little-endian.");
        int dim = h[0], hidden = h[1], layers = h[2], heads = h[3], kvHeads = h[4], vocab = h[5], seqLen = h[6];
        var problems = new List<string>();
        void Range(string name, int value, int max)
        {
            if (value <= 0 || value > max) problems.Add($"{name}={value} (expected 1..{max})");
        }

        Range("dim", dim, 1 << 16);
        Range("hidden_dim", hidden, 1 << 18);
        Range("n_layers", layers, 1024);
        Range("n_heads", heads, 1024);
        Range("n_kv_heads", kvHeads, 1024);
        Range("|vocab_size|", vocab == int.MinValue ? int.MaxValue : Math.Abs(vocab), 1 << 22);
        Range("seq_len", seqLen, 1 << 20);
        if (problems.Count == 0 && (dim % heads != 0 || heads % kvHeads != 0 || (dim / heads) % 2 != 0))
        {
            problems.Add($"inconsistent heads: dim={dim}, n_heads={heads}, n_kv_heads={kvHeads} (need dim % n_heads == 0, n_heads % n_kv_heads == 0, even head size)");
        }

        if (problems.Count > 0)
        {
            throw new ModelFileException(path, "not a llama2.c legacy checkpoint (a version 1+ file or another format?); impossible header values: " + string.Join(", ", problems) + ".", null);
        }

        bool shared = vocab > 0;
        vocab = Math.Abs(vocab);
        long headDim = dim / heads, kvDim = kvHeads * headDim;
        long floats = ((long)vocab * dim) + ((long)layers * dim * 2) + ((long)layers * dim * dim * 2) + ((long)layers * kvDim * dim * 2)
            + ((long)layers * hidden * dim * 3) + dim + ((long)seqLen * headDim) + (shared ? 0 : (long)vocab * dim);
        long expected = HeaderBytes + (floats * sizeof(float));
        if (stream.Length != expected)
        {
            string what = stream.Length < expected ? "truncated" : "has trailing data";
            throw new ModelFileException(path, $"llama2.c checkpoint {what}: the header describes {expected} bytes, the file has {stream.Length}.", null);
        }

        var config = new LlamaConfig
        {
            HiddenSize = dim,
            IntermediateSize = hidden,
            NumHiddenLayers = layers,
            NumAttentionHeads = heads,
            NumKeyValueHeads = kvHeads,
            VocabSize = vocab,
            MaxPositionEmbeddings = seqLen,
            RmsNormEps = 1e-5,
            RopeTheta = 10000.0,
            TieWordEmbeddings = shared,
        };
        return (config, shared, seqLen);
    }

    /// <summary>Sequential float32 reader over the weights region.</summary>
    private sealed class Reader(FileStream stream, string path)
    {
        internal Tensor Next(params long[] shape)
        {
            long count = shape.Aggregate(1L, (a, b) => a * b);
            var values = new float[count];
            Span<byte> bytes = MemoryMarshal.AsBytes(values.AsSpan());
            if (stream.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false) < bytes.Length)
            {
                throw new ModelFileException(path, $"truncated llama2.c checkpoint at byte {stream.Position}.", null);
            }

            return torch.tensor(values, shape);
        }

        internal void Skip(long bytes) => stream.Seek(bytes, SeekOrigin.Current);
    }
}

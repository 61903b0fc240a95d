using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using FineTuning.Generation;
using FineTuning.Models.Gpt2;
using FineTuning.Models.Llama;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuning.Models.Gguf;

/// <summary>
/// Writes a causal language model as a GGUF version 3 file that llama.cpp (and LLamaSharp, Ollama, LM Studio) loads:
/// the <c>general.*</c> and <c>&lt;arch&gt;.*</c> metadata, the tokenizer, and every weight under llama.cpp's tensor
/// names in the chosen <see cref="GgufTensorType"/>. LLaMA and Mistral models become the <c>llama</c> architecture
/// (with the Q/K row permutation llama.cpp expects), Qwen2 models <c>qwen2</c>. The file is written atomically: on any
/// failure nothing is left at <c>path</c>. See docs/export-gguf.md.
/// </summary>
public static class GgufExporter
{
    /// <summary>Writes <paramref name="model"/> to <paramref name="path"/>; see <see cref="Save(LlamaForCausalLM, GgufVocabulary, string, GgufExportOptions?)"/>.</summary>
    /// <param name="model">The model; only <see cref="LlamaForCausalLM"/> is supported yet.</param>
    /// <param name="vocabulary">Its tokenizer in GGUF form (e.g. <see cref="GgufVocabulary.FromLlama2C"/>).</param>
    /// <param name="path">The .gguf file to write (replaced if it exists).</param>
    /// <param name="options">Tensor types and metadata; null for the defaults (F16).</param>
    /// <returns>What was written.</returns>
    /// <exception cref="NotSupportedException">The architecture has no GGUF export here (GPT-2 and others).</exception>
    public static GgufExportResult Save(ICausalLanguageModel model, GgufVocabulary vocabulary, string path, GgufExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model switch
        {
            LlamaForCausalLM llama => Save(llama, vocabulary, path, options),
            Gpt2LMHeadModel => throw new NotSupportedException("GGUF export of the gpt2 architecture is not supported yet (llama, mistral and qwen2 are)."),
            _ => throw new NotSupportedException($"GGUF export of {model.GetType().Name} is not supported (llama, mistral and qwen2 models are)."),
        };
    }

    /// <summary>Writes a LLaMA-family model (LLaMA, Mistral, Qwen2) to <paramref name="path"/>.</summary>
    /// <param name="model">The model, without adapters (merge them first, or export them with the LoRA package's GGUF adapter writer).</param>
    /// <param name="vocabulary">Its tokenizer in GGUF form; must have one token per model token id.</param>
    /// <param name="path">The .gguf file to write (replaced if it exists).</param>
    /// <param name="options">Tensor types and metadata; null for the defaults (F16).</param>
    /// <returns>What was written, with the type each tensor was stored in.</returns>
    /// <exception cref="NotSupportedException">The model type or a setting (rope scaling) has no GGUF form here.</exception>
    /// <exception cref="GgufExportException">The vocabulary does not fit the model, a parameter has no GGUF name (adapter or
    /// quantized layers), or a matrix cannot be quantized and <see cref="GgufExportOptions.FallBackWhenRowsDoNotSplit"/> is off.</exception>
    public static GgufExportResult Save(LlamaForCausalLM model, GgufVocabulary vocabulary, string path, GgufExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(vocabulary);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        GgufExportOptions o = (options ?? new GgufExportOptions()).Clone();
        o.Validate();
        LlamaConfig config = model.Config;
        string arch = GgufLlamaLayout.Architecture(config);
        List<string> problems = vocabulary.Problems(config.VocabSize);
        if (problems.Count > 0) throw new GgufExportException($"{path}: the GGUF vocabulary does not fit the model: " + string.Join(" ", problems));

        var writer = new GgufWriter();
        WriteMetadata(writer, config, arch, o, o.Name ?? Path.GetFileNameWithoutExtension(path));
        vocabulary.WriteTo(writer, o.ChatTemplate);
        var exported = new List<GgufExportedTensor>();
        foreach ((string name, Parameter parameter) in model.named_parameters())
        {
            string ggufName = GgufLlamaLayout.TensorName(name) ?? throw new GgufExportException(
                $"{path}: parameter \"{name}\" has no tensor in GGUF's {arch} architecture (adapter or quantized layers: merge and unload them, or export the adapter on its own).");
            long[] shape = parameter.shape;
            bool output = ggufName == "output.weight" || (ggufName == "token_embd.weight" && config.TieWordEmbeddings);
            GgufTensorType wanted = shape.Length == 1 ? GgufTensorType.F32 : output ? o.EffectiveOutputType : o.TensorType;
            GgufTensorType type = wanted;
            if (!GgufQuantizer.CanStore(wanted, shape[^1]))
            {
                if (!o.FallBackWhenRowsDoNotSplit)
                {
                    throw new GgufExportException($"{path}: tensor \"{ggufName}\" ({name}) has rows of {shape[^1]} values, which do not split into {wanted} blocks of {GgufQuantizer.QuantBlock}; allow GgufExportOptions.FallBackWhenRowsDoNotSplit or choose F16/F32.");
                }

                type = GgufTensorType.F16;
            }

            int heads = GgufLlamaLayout.PermutedHeads(ggufName, config, arch);
            writer.AddTensor(ggufName, shape, type, () => Encode(parameter, heads, type));
            exported.Add(new GgufExportedTensor(ggufName, shape, type, type != wanted));
        }

        if (arch == "qwen2" && !config.AttentionBias) AddZeroQkvBiases(writer, exported, config);
        writer.Save(path);
        return new GgufExportResult(Path.GetFullPath(path), new FileInfo(path).Length, arch, exported);
    }

    /// <summary>The bytes of <paramref name="tensor"/> (any dtype or device) in <paramref name="type"/>, rows permuted for <paramref name="permutedHeads"/> heads when not 0.</summary>
    internal static byte[] Encode(Tensor tensor, int permutedHeads, GgufTensorType type)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        Tensor t = tensor.detach().to(ScalarType.Float32).cpu();
        if (permutedHeads > 0) t = GgufLlamaLayout.PermuteRows(t, permutedHeads);
        float[] values = t.contiguous().data<float>().ToArray();
        return GgufQuantizer.Encode(values, type);
    }

    private static void WriteMetadata(GgufWriter w, LlamaConfig c, string a, GgufExportOptions o, string name)
    {
        w.AddString("general.architecture", a);
        w.AddString("general.type", "model");
        w.AddString("general.name", name);
        w.AddUInt32("general.file_type", o.FileType);
        w.AddUInt32("general.quantization_version", 2);
        w.AddUInt32($"{a}.vocab_size", (uint)c.VocabSize);
        w.AddUInt32($"{a}.context_length", (uint)(o.ContextLength ?? c.MaxPositionEmbeddings));
        w.AddUInt32($"{a}.embedding_length", (uint)c.HiddenSize);
        w.AddUInt32($"{a}.block_count", (uint)c.NumHiddenLayers);
        w.AddUInt32($"{a}.feed_forward_length", (uint)c.IntermediateSize);
        w.AddUInt32($"{a}.attention.head_count", (uint)c.NumAttentionHeads);
        w.AddUInt32($"{a}.attention.head_count_kv", (uint)c.EffectiveKeyValueHeads);
        w.AddFloat32($"{a}.attention.layer_norm_rms_epsilon", (float)c.RmsNormEps);
        w.AddFloat32($"{a}.rope.freq_base", (float)c.RopeTheta);
        w.AddUInt32($"{a}.rope.dimension_count", (uint)c.EffectiveHeadDim);
        if (c.EffectiveHeadDim * c.NumAttentionHeads != c.HiddenSize)
        {
            // llama.cpp assumes embedding_length / head_count unless told otherwise (Mistral's head_dim).
            w.AddUInt32($"{a}.attention.key_length", (uint)c.EffectiveHeadDim);
            w.AddUInt32($"{a}.attention.value_length", (uint)c.EffectiveHeadDim);
        }
    }

    /// <summary>llama.cpp's qwen2 requires q/k/v biases; a Qwen2-type model without them gets exact zeros.</summary>
    private static void AddZeroQkvBiases(GgufWriter writer, List<GgufExportedTensor> exported, LlamaConfig c)
    {
        int headDim = c.EffectiveHeadDim;
        for (int layer = 0; layer < c.NumHiddenLayers; layer++)
        {
            foreach ((string module, int rows) in new[] { ("attn_q", c.NumAttentionHeads * headDim), ("attn_k", c.EffectiveKeyValueHeads * headDim), ("attn_v", c.EffectiveKeyValueHeads * headDim) })
            {
                string name = $"blk.{layer}.{module}.bias";
                int n = rows;
                writer.AddTensor(name, new long[] { n }, GgufTensorType.F32, () => new byte[n * sizeof(float)]);
                exported.Add(new GgufExportedTensor(name, new long[] { n }, GgufTensorType.F32, false));
            }
        }
    }
}

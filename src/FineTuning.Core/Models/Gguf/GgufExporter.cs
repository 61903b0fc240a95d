using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using FineTuning.Adapters;
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
/// (with the Q/K row permutation llama.cpp expects), Qwen2 models <c>qwen2</c>, GPT-2 models <c>gpt2</c>. The file is written atomically: on any
/// failure nothing is left at <c>path</c>. Layers stored quantized (a QLoRA base, a quantized embedding: see
/// <see cref="IFrozenLinear"/> and <see cref="IFrozenEmbedding"/>) are
/// dequantized one at a time and written in the chosen type like any other weight. See docs/export-gguf.md.
/// </summary>
public static class GgufExporter
{
    /// <summary>Writes <paramref name="model"/> to <paramref name="path"/>; see the overloads per architecture.</summary>
    /// <param name="model">A <see cref="LlamaForCausalLM"/> or <see cref="Gpt2LMHeadModel"/>.</param>
    /// <param name="vocabulary">Its tokenizer in GGUF form (e.g. <see cref="GgufVocabulary.FromLlama2C"/>).</param>
    /// <param name="path">The .gguf file to write (replaced if it exists).</param>
    /// <param name="options">Tensor types and metadata; null for the defaults (F16).</param>
    /// <returns>What was written.</returns>
    /// <exception cref="NotSupportedException">The model type has no GGUF export here.</exception>
    public static GgufExportResult Save(ICausalLanguageModel model, GgufVocabulary vocabulary, string path, GgufExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model switch
        {
            LlamaForCausalLM llama => Save(llama, vocabulary, path, options),
            Gpt2LMHeadModel gpt2 => Save(gpt2, vocabulary, path, options),
            _ => throw new NotSupportedException($"GGUF export of {model.GetType().Name} is not supported (llama, mistral, qwen2 and gpt2 models are)."),
        };
    }

    /// <summary>Writes a LLaMA-family model (LLaMA, Mistral, Qwen2) to <paramref name="path"/>.</summary>
    /// <param name="model">The model, without adapters (merge them first, or export them with the LoRA package's GGUF adapter writer).</param>
    /// <param name="vocabulary">Its tokenizer in GGUF form; must have one token per model token id.</param>
    /// <param name="path">The .gguf file to write (replaced if it exists).</param>
    /// <param name="options">Tensor types and metadata; null for the defaults (F16).</param>
    /// <returns>What was written, with the type each tensor was stored in.</returns>
    /// <exception cref="NotSupportedException">The model type or a setting (rope scaling) has no GGUF form here.</exception>
    /// <exception cref="GgufExportException">The vocabulary does not fit the model, a parameter has no GGUF name (adapter
    /// layers), or a matrix cannot be quantized and <see cref="GgufExportOptions.FallBackWhenRowsDoNotSplit"/> is off.</exception>
    public static GgufExportResult Save(LlamaForCausalLM model, GgufVocabulary vocabulary, string path, GgufExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        LlamaConfig config = model.Config;
        string arch = GgufLlamaLayout.Architecture(config);
        (GgufWriter writer, GgufExportOptions o) = Start(vocabulary, path, options, config.VocabSize, arch);
        WriteMetadata(writer, config, arch, o);
        vocabulary.WriteTo(writer, o.ChatTemplate);
        var exported = new List<GgufExportedTensor>();
        AddTensors(writer, exported, model, GgufLlamaLayout.TensorName, output: config.TieWordEmbeddings ? "token_embd.weight" : "output.weight",
            n => GgufLlamaLayout.PermutedHeads(n, config, arch), o, path, arch);
        if (arch == "qwen2" && !config.AttentionBias) AddZeroQkvBiases(writer, exported, config);
        return Finish(writer, path, arch, exported);
    }

    /// <summary>Writes a GPT-2 model to <paramref name="path"/> (llama.cpp's <c>gpt2</c> architecture; the head is tied to the token embedding).</summary>
    /// <param name="model">The model.</param>
    /// <param name="vocabulary">Its tokenizer in GGUF form (e.g. <see cref="GgufVocabulary.FromHfTokenizer"/> with <c>gpt-2</c>).</param>
    /// <param name="path">The .gguf file to write (replaced if it exists).</param>
    /// <param name="options">Tensor types and metadata; null for the defaults (F16).</param>
    /// <returns>What was written.</returns>
    /// <exception cref="GgufExportException">As for the LLaMA overload.</exception>
    public static GgufExportResult Save(Gpt2LMHeadModel model, GgufVocabulary vocabulary, string path, GgufExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        const string arch = GgufGpt2Layout.Architecture;
        (GgufWriter writer, GgufExportOptions o) = Start(vocabulary, path, options, model.Config.VocabSize, arch);
        GgufGpt2Layout.WriteMetadata(writer, model.Config, o);
        vocabulary.WriteTo(writer, o.ChatTemplate);
        var exported = new List<GgufExportedTensor>();
        AddTensors(writer, exported, model, GgufGpt2Layout.TensorName, output: "token_embd.weight", _ => 0, o, path, arch);
        return Finish(writer, path, arch, exported);
    }

    private static (GgufWriter Writer, GgufExportOptions Options) Start(GgufVocabulary vocabulary, string path, GgufExportOptions? options, int vocabSize, string arch)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        GgufExportOptions o = (options ?? new GgufExportOptions()).Clone();
        o.Validate();
        List<string> problems = vocabulary.Problems(vocabSize);
        if (problems.Count > 0) throw new GgufExportException($"{path}: the GGUF vocabulary does not fit the model: " + string.Join(" ", problems));
        var writer = new GgufWriter();
        writer.AddString("general.architecture", arch);
        writer.AddString("general.type", "model");
        writer.AddString("general.name", o.Name ?? Path.GetFileNameWithoutExtension(path));
        writer.AddUInt32("general.file_type", o.FileType);
        writer.AddUInt32("general.quantization_version", 2);
        return (writer, o);
    }

    private static GgufExportResult Finish(GgufWriter writer, string path, string arch, List<GgufExportedTensor> exported)
    {
        writer.Save(path);
        return new GgufExportResult(Path.GetFullPath(path), new FileInfo(path).Length, arch, exported);
    }

    /// <summary>
    /// Adds every parameter, and the dequantized weight of every frozen quantized layer (<see cref="IFrozenLinear"/>,
    /// <see cref="IFrozenEmbedding"/>), under
    /// its GGUF name: 1-D tensors as F32, the output head (<paramref name="output"/>) in the
    /// output type, other matrices in the chosen type, or F16 when their rows do not split into blocks.
    /// </summary>
    private static void AddTensors(GgufWriter writer, List<GgufExportedTensor> exported, nn.Module model, Func<string, string?> map, string output,
        Func<string, int> permutedHeads, GgufExportOptions o, string path, string arch)
    {
        // Parameters, then the weights of frozen quantized layers (QLoRA's base without an adapter, a quantized head):
        // those are not parameters, and are dequantized one at a time as the file is written.
        var sources = new List<(string Name, long[] Shape, Func<int, GgufTensorType, byte[]> Encode)>();
        foreach ((string name, Parameter parameter) in model.named_parameters())
            sources.Add((name, parameter.shape, (heads, type) => Encode(parameter, heads, type)));
        foreach ((string name, nn.Module module) in model.named_modules())
        {
            (long[] Shape, Func<Tensor> Dense)? frozen = module switch
            {
                IFrozenLinear l => (new[] { l.OutFeatures, l.InFeatures }, () => l.DenseWeight(ScalarType.Float32)),
                IFrozenEmbedding e => (new[] { e.NumEmbeddings, e.EmbeddingDim }, () => e.DenseWeight(ScalarType.Float32)),
                _ => null,
            };
            if (frozen is not { } f) continue;
            sources.Add((name + ".weight", f.Shape, (heads, type) =>
            {
                using Tensor dense = f.Dense();
                return Encode(dense, heads, type);
            }));
        }

        foreach ((string name, long[] shape, Func<int, GgufTensorType, byte[]> encode) in sources)
        {
            string ggufName = map(name) ?? throw new GgufExportException(
                $"{path}: parameter \"{name}\" has no tensor in GGUF's {arch} architecture (adapter layers: merge and unload them, or export the adapter on its own).");
            GgufTensorType wanted = shape.Length == 1 ? GgufTensorType.F32 : ggufName == output ? o.EffectiveOutputType : o.TensorType;
            GgufTensorType type = wanted;
            if (!GgufQuantizer.CanStore(wanted, shape[^1]))
            {
                if (!o.FallBackWhenRowsDoNotSplit)
                {
                    throw new GgufExportException($"{path}: tensor \"{ggufName}\" ({name}) has rows of {shape[^1]} values, which do not split into {wanted} blocks of {GgufQuantizer.QuantBlock}; allow GgufExportOptions.FallBackWhenRowsDoNotSplit or choose F16/F32.");
                }

                type = GgufTensorType.F16;
            }

            int heads = permutedHeads(ggufName);
            writer.AddTensor(ggufName, shape, type, () => encode(heads, type));
            exported.Add(new GgufExportedTensor(ggufName, shape, type, type != wanted));
        }
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

    private static void WriteMetadata(GgufWriter w, LlamaConfig c, string a, GgufExportOptions o)
    {
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

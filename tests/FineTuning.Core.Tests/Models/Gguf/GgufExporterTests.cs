using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using FineTuning.Core.Tests.Models.HuggingFace;
using FineTuning.Core.Tests.Models.Llama;
using FineTuning.Models.Gguf;
using FineTuning.Models.Llama;
using FineTuning.Testing;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Core.Tests.Models.Gguf;

public sealed class GgufExporterTests : IDisposable
{
    private readonly TempDirectory folder = new("ft-hf-");

    public void Dispose() => folder.Dispose();

    internal static GgufVocabulary CharVocabulary() => new()
    {
        Tokens = new[] { "<unk>", "<s>", "</s>" }.Concat(CharTokenizer.Alphabet.Select(c => c == ' ' ? GgufVocabulary.SentencePieceSpace : c.ToString())).ToArray(),
        Scores = Enumerable.Repeat(0f, CharTokenizer.Alphabet.Length + 3).ToArray(),
        TokenTypes = Enumerable.Range(0, CharTokenizer.Alphabet.Length + 3).Select(i => i == 0 ? GgufTokenType.Unknown : i < 3 ? GgufTokenType.Control : GgufTokenType.Normal).ToArray(),
        BosTokenId = 1, EosTokenId = 2, UnknownTokenId = 0, ChatTemplate = "{{ messages }}",
    };

    [Fact]
    public void Save_TinyLlama_HeaderMetadataAndAlignedTensorInfos()
    {
        LlamaConfig config = TinyLlama.Config(kvHeads: 2);
        using LlamaForCausalLM model = TinyLlama.Create(config);
        string path = Path.Combine(folder.Path, "m.gguf");
        GgufExportResult result = GgufExporter.Save(model, CharVocabulary(), path, new GgufExportOptions { TensorType = GgufTensorType.F32, Name = "tiny" });

        GgufReader file = GgufReader.Read(path);
        Assert.Equal(3u, file.Version);
        Dictionary<string, object> m = file.Metadata;
        Assert.Equal("llama", m["general.architecture"]);
        Assert.Equal("model", m["general.type"]);
        Assert.Equal("tiny", m["general.name"]);
        Assert.Equal(0u, m["general.file_type"]);
        Assert.Equal(2u, m["general.quantization_version"]);
        Assert.Equal(32u, m["general.alignment"]);
        Assert.Equal(32u, m["llama.embedding_length"]);
        Assert.Equal(48u, m["llama.feed_forward_length"]);
        Assert.Equal(2u, m["llama.block_count"]);
        Assert.Equal(128u, m["llama.context_length"]);
        Assert.Equal(4u, m["llama.attention.head_count"]);
        Assert.Equal(2u, m["llama.attention.head_count_kv"]);
        Assert.Equal(8u, m["llama.rope.dimension_count"]);
        Assert.Equal(67u, m["llama.vocab_size"]);
        Assert.Equal(1e-5f, m["llama.attention.layer_norm_rms_epsilon"]);
        Assert.Equal(10000f, m["llama.rope.freq_base"]);
        Assert.False(m.ContainsKey("llama.attention.key_length"));
        Assert.Equal("llama", m["tokenizer.ggml.model"]);
        Assert.Equal(67, ((object[])m["tokenizer.ggml.tokens"]).Length);
        Assert.Equal("\u2581", ((object[])m["tokenizer.ggml.tokens"])[3 + CharTokenizer.Alphabet.IndexOf(' ', StringComparison.Ordinal)]);
        Assert.Equal(3, ((object[])m["tokenizer.ggml.token_type"])[1]);
        Assert.Equal(1u, m["tokenizer.ggml.bos_token_id"]);
        Assert.Equal("{{ messages }}", m["tokenizer.chat_template"]);

        // 9 tensors per layer + embedding, final norm and untied head; names and shapes as llama.cpp's llama architecture.
        Assert.Equal((9 * 2) + 3, file.Tensors.Count);
        Assert.Equal(new long[] { 67, 32 }, file.Tensor("token_embd.weight").Shape);
        Assert.Equal(new long[] { 67, 32 }, file.Tensor("output.weight").Shape);
        Assert.Equal(new long[] { 16, 32 }, file.Tensor("blk.1.attn_k.weight").Shape);
        Assert.Equal(new long[] { 32, 48 }, file.Tensor("blk.0.ffn_down.weight").Shape);
        Assert.Equal(GgufTensorType.F32, file.Tensor("blk.0.attn_norm.weight").Type);
        Assert.All(file.Tensors, t => Assert.Equal(0ul, t.Offset % 32));
        Assert.Equal(0, file.DataStart % 32);
        TensorInfoEndsWithinFile(file, result.FileBytes);
        Assert.Equal(new FileInfo(path).Length, result.FileBytes);
    }

    private static void TensorInfoEndsWithinFile(GgufReader file, long fileBytes)
    {
        GgufReader.TensorInfo last = file.Tensors.OrderBy(t => t.Offset).Last();
        long end = file.DataStart + (long)last.Offset + GgufQuantizer.ByteSize(last.Type, last.Elements);
        Assert.True(end <= fileBytes && fileBytes - end < 32, $"data ends at {end}, the file has {fileBytes} bytes.");
    }

    [Fact]
    public void Save_LlamaF32_QkRowsPermutedAsLlamaCppOthersExact()
    {
        using LlamaForCausalLM model = TinyLlama.Create(TinyLlama.Config(kvHeads: 2));
        string path = Path.Combine(folder.Path, "m.gguf");
        GgufExporter.Save(model, CharVocabulary(), path, new GgufExportOptions { TensorType = GgufTensorType.F32 });
        GgufReader file = GgufReader.Read(path);
        Dictionary<string, Tensor> state = model.state_dict();
        using var scope = torch.NewDisposeScope();

        // The file holds llama.cpp's pairwise layout; llama2.c's loader turns it back into HF's half layout.
        Tensor q = torch.tensor(file.Values("blk.1.attn_q.weight"), new long[] { 32, 32 });
        Tensor k = torch.tensor(file.Values("blk.1.attn_k.weight"), new long[] { 16, 32 });
        Assert.True(Llama2CCheckpoint.PairwiseToRotateHalf(q, 4, 8).equal(state["model.layers.1.self_attn.q_proj.weight"]).all().item<bool>());
        Assert.True(Llama2CCheckpoint.PairwiseToRotateHalf(k, 2, 8).equal(state["model.layers.1.self_attn.k_proj.weight"]).all().item<bool>());
        Assert.False(q.equal(state["model.layers.1.self_attn.q_proj.weight"]).all().item<bool>());
        Assert.Equal(state["model.layers.0.mlp.down_proj.weight"].data<float>().ToArray(), file.Values("blk.0.ffn_down.weight"));
        Assert.Equal(state["model.layers.0.self_attn.v_proj.weight"].data<float>().ToArray(), file.Values("blk.0.attn_v.weight"));
    }

    [Fact]
    public void Save_Qwen2WithBiases_NoPermutationBiasesKept()
    {
        LlamaConfig config = TinyLlama.Config(kvHeads: 2, bias: true) with { OutputProjectionBias = false, ModelType = "qwen2" };
        using LlamaForCausalLM model = TinyLlama.Create(config);
        string path = Path.Combine(folder.Path, "q.gguf");
        GgufExportResult result = GgufExporter.Save(model, CharVocabulary(), path, new GgufExportOptions { TensorType = GgufTensorType.F32 });
        GgufReader file = GgufReader.Read(path);
        Dictionary<string, Tensor> state = model.state_dict();
        Assert.Equal("qwen2", result.Architecture);
        Assert.Equal("qwen2", file.Metadata["general.architecture"]);
        Assert.Equal(32u, file.Metadata["qwen2.embedding_length"]);
        Assert.Equal(state["model.layers.0.self_attn.q_proj.weight"].data<float>().ToArray(), file.Values("blk.0.attn_q.weight"));
        Assert.Equal(state["model.layers.1.self_attn.k_proj.bias"].data<float>().ToArray(), file.Values("blk.1.attn_k.bias"));
        Assert.DoesNotContain(file.Tensors, t => t.Name.EndsWith("attn_output.bias", StringComparison.Ordinal));
    }

    [Fact]
    public void Save_MistralHeadDim_KeyLengthWritten()
    {
        LlamaConfig config = TinyLlama.Config(kvHeads: 2) with { HeadDim = 16, ModelType = "mistral" };
        using LlamaForCausalLM model = TinyLlama.Create(config);
        string path = Path.Combine(folder.Path, "m.gguf");
        GgufExporter.Save(model, CharVocabulary(), path, new GgufExportOptions { TensorType = GgufTensorType.F32 });
        GgufReader file = GgufReader.Read(path);
        Assert.Equal("llama", file.Metadata["general.architecture"]);
        Assert.Equal(16u, file.Metadata["llama.attention.key_length"]);
        Assert.Equal(16u, file.Metadata["llama.rope.dimension_count"]);
        Assert.Equal(new long[] { 64, 32 }, file.Tensor("blk.0.attn_q.weight").Shape);
    }

    [Fact]
    public void Save_Q4_0IndivisibleRows_FallsBackToF16AndOutputStaysQ8_0()
    {
        using LlamaForCausalLM model = TinyLlama.Create(TinyLlama.Config(kvHeads: 2, tied: true));
        string path = Path.Combine(folder.Path, "m.gguf");
        GgufExportResult result = GgufExporter.Save(model, CharVocabulary(), path, new GgufExportOptions { TensorType = GgufTensorType.Q4_0 });
        GgufReader file = GgufReader.Read(path);
        Assert.Equal(2u, file.Metadata["general.file_type"]);
        // ffn_down rows have 48 values: not a multiple of 32.
        Assert.Equal(GgufTensorType.F16, file.Tensor("blk.0.ffn_down.weight").Type);
        Assert.Contains(result.Tensors, t => t.Name == "blk.0.ffn_down.weight" && t.FellBack);
        Assert.Equal(GgufTensorType.Q4_0, file.Tensor("blk.0.ffn_up.weight").Type);
        // Tied embeddings serve as the output head: kept at Q8_0.
        Assert.Equal(GgufTensorType.Q8_0, file.Tensor("token_embd.weight").Type);
        Assert.DoesNotContain(file.Tensors, t => t.Name == "output.weight");
        Assert.Equal(GgufTensorType.F32, file.Tensor("output_norm.weight").Type);
        Assert.Equal(result.Tensors.Select(t => (t.Name, t.Type)), file.Tensors.Select(t => (t.Name, t.Type)));
    }

    [Fact]
    public void Save_Gpt2_Gpt2ArchitectureNamesAndTiedHead()
    {
        using var model = HfCase.CreateGpt2();
        string path = Path.Combine(folder.Path, "g.gguf");
        GgufExportResult result = GgufExporter.Save(model, CharVocabulary(), path, new GgufExportOptions { TensorType = GgufTensorType.Q8_0 });
        GgufReader file = GgufReader.Read(path);
        Assert.Equal("gpt2", result.Architecture);
        Assert.Equal(32u, file.Metadata["gpt2.context_length"]);
        Assert.Equal(128u, file.Metadata["gpt2.feed_forward_length"]);
        Assert.Equal(1e-5f, file.Metadata["gpt2.attention.layer_norm_epsilon"]);
        Assert.Equal((12 * 2) + 4, file.Tensors.Count);
        Assert.Equal(new long[] { 96, 32 }, file.Tensor("blk.0.attn_qkv.weight").Shape);
        Assert.Equal(new long[] { 32, 128 }, file.Tensor("blk.1.ffn_down.weight").Shape);
        Assert.Equal(GgufTensorType.F32, file.Tensor("blk.1.ffn_norm.bias").Type);
        Assert.Equal(GgufTensorType.Q8_0, file.Tensor("position_embd.weight").Type);
        Assert.DoesNotContain(file.Tensors, t => t.Name == "output.weight");
        Dictionary<string, Tensor> state = model.state_dict();
        Assert.Equal(state["transformer.h.0.attn.c_attn.bias"].data<float>().ToArray(), file.Values("blk.0.attn_qkv.bias"));
    }
}

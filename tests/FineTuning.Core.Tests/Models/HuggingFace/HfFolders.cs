using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using FineTuning.Core.Tests.Models.Llama;
using FineTuning.Models.Bert;
using FineTuning.Models.Gpt2;
using FineTuning.Models.Llama;
using FineTuning.Models.SafeTensors;
using FineTuning.Testing;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Core.Tests.Models.HuggingFace;

/// <summary>
/// One architecture's tiny checkpoint as the tests write it by hand in HF layout: the HF config.json text and the
/// file tensors (HF names, GPT-2 Conv1D weights transposed to [in, out]), from a seeded model.
/// </summary>
internal sealed record HfCase(string Name, Func<nn.Module> Create, string ConfigJson, Func<nn.Module, Dictionary<string, Tensor>> FileTensors, Func<nn.Module, Tensor> Run)
{
    public override string ToString() => Name;

    internal static readonly long[] Ids = { 1, 7, 8, 9, 3, 4, 5, 6, 10, 11, 12, 13, 14, 2 };

    internal static Tensor Tokens() => torch.tensor(Ids, new long[] { 2, 7 });

    /// <summary>Writes config.json and model.safetensors into <paramref name="folder"/> from <paramref name="model"/>.</summary>
    internal void Write(string folder, nn.Module model, string? configJson = null)
    {
        File.WriteAllText(System.IO.Path.Combine(folder, "config.json"), configJson ?? ConfigJson);
        using var scope = torch.NewDisposeScope();
        SafeTensorsWriter.Write(System.IO.Path.Combine(folder, "model.safetensors"), FileTensors(model));
    }

    internal static Dictionary<string, Tensor> StateDict(nn.Module model) =>
        model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);

    private static Tensor RunCausal(nn.Module m)
    {
        using Tensor ids = Tokens();
        return ((nn.Module<Tensor, Tensor>)m).call(ids);
    }

    private static Tensor RunBert(nn.Module m)
    {
        using Tensor ids = Tokens();
        using Tensor mask = torch.tensor(new long[] { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0 }, new long[] { 2, 7 });
        using Tensor types = torch.zeros(2, 7, dtype: ScalarType.Int64);
        return ((nn.Module<Tensor, Tensor, Tensor, Tensor>)m).call(ids, mask, types);
    }

    private static string LlamaJson(string modelType, int kvHeads, bool tied, string extra = "") => $$"""
        {"architectures": ["LlamaForCausalLM"], "model_type": "{{modelType}}", "hidden_size": 32, "intermediate_size": 48,
         "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": {{kvHeads}}, "vocab_size": 67,
         "rms_norm_eps": 1e-05, "rope_theta": 10000.0, "max_position_embeddings": 128, "hidden_act": "silu",
         "tie_word_embeddings": {{(tied ? "true" : "false")}}, "torch_dtype": "float32", "bos_token_id": 1{{extra}}}
        """;

    private static HfCase Llama(string name, LlamaConfig config, string json) =>
        new(name, () => TinyLlama.Create(config), json, StateDict, RunCausal);

    internal static readonly LlamaRopeScaling Llama3Scaling = new()
    {
        RopeType = "llama3", Factor = 4, LowFreqFactor = 1, HighFreqFactor = 4, OriginalMaxPositionEmbeddings = 64,
    };

    internal static Gpt2Config Gpt2Config() => new()
    {
        VocabSize = 67, NPositions = 32, NEmbd = 32, NLayer = 2, NHead = 4, LayerNormEpsilon = 1e-5,
    };

    internal const string Gpt2Json = """
        {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "vocab_size": 67, "n_positions": 32, "n_ctx": 32,
         "n_embd": 32, "n_layer": 2, "n_head": 4, "n_inner": null, "activation_function": "gelu_new",
         "layer_norm_epsilon": 1e-05, "resid_pdrop": 0.1, "embd_pdrop": 0.1, "attn_pdrop": 0.1, "initializer_range": 0.02,
         "scale_attn_weights": true, "use_cache": true, "bos_token_id": 1, "eos_token_id": 2}
        """;

    internal static Gpt2LMHeadModel CreateGpt2(ulong seed = 7)
    {
        var model = new Gpt2LMHeadModel(Gpt2Config());
        TinyModels.Initialise(model, seed);
        model.eval();
        return model;
    }

    /// <summary>HF layout of GPT-2: Conv1D weights [in, out]; optionally GPT2Model names (no prefix) plus the old mask buffers.</summary>
    internal static Dictionary<string, Tensor> Gpt2FileTensors(nn.Module model, bool bare)
    {
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach ((string key, Tensor value) in model.state_dict())
        {
            bool conv = key.EndsWith("c_attn.weight", StringComparison.Ordinal) || key.EndsWith("c_proj.weight", StringComparison.Ordinal) || key.EndsWith("c_fc.weight", StringComparison.Ordinal);
            result.Add(bare ? key["transformer.".Length..] : key, conv ? value.t() : value);
        }

        if (bare)
        {
            result.Add("h.0.attn.bias", torch.ones(1, 1, 32, 32).tril());
            result.Add("h.1.attn.masked_bias", torch.tensor(-1e4f));
        }

        return result;
    }

    private static BertConfig BertConfig() => new()
    {
        VocabSize = 67, HiddenSize = 32, NumHiddenLayers = 2, NumAttentionHeads = 4, IntermediateSize = 48, MaxPositionEmbeddings = 16,
    };

    private const string BertJson = """
        {"model_type": "bert", "vocab_size": 67, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
         "intermediate_size": 48, "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
         "max_position_embeddings": 16, "type_vocab_size": 2, "layer_norm_eps": 1e-12, "pad_token_id": 0,
        """;

    private static nn.Module Seeded(nn.Module model)
    {
        TinyModels.Initialise(model, 11);
        model.eval();
        return model;
    }

    internal static IEnumerable<HfCase> All()
    {
        yield return Llama("llama-tied", TinyLlama.Config(kvHeads: 4, tied: true), LlamaJson("llama", 4, tied: true));
        yield return Llama("llama-gqa-untied", TinyLlama.Config(kvHeads: 2), LlamaJson("llama", 2, tied: false));
        yield return Llama("qwen2-bias", TinyLlama.Config(kvHeads: 2, bias: true) with { OutputProjectionBias = false, ModelType = "qwen2" },
            LlamaJson("qwen2", 2, tied: false, ", \"use_sliding_window\": false, \"sliding_window\": 4096, \"max_window_layers\": 2").Replace("LlamaForCausalLM", "Qwen2ForCausalLM", StringComparison.Ordinal));
        yield return Llama("mistral-head-dim", TinyLlama.Config(kvHeads: 2) with { HeadDim = 16, SlidingWindow = 64, ModelType = "mistral" },
            LlamaJson("mistral", 2, tied: false, ", \"head_dim\": 16, \"sliding_window\": 64"));
        yield return Llama("llama3-rope-scaling", TinyLlama.Config(kvHeads: 2) with { RopeScaling = Llama3Scaling },
            LlamaJson("llama", 2, tied: false, ", \"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 4.0, \"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0, \"original_max_position_embeddings\": 64}"));
        yield return new HfCase("gpt2", () => CreateGpt2(), Gpt2Json, m => Gpt2FileTensors(m, bare: false), RunCausal);
        yield return new HfCase("gpt2-bare-names", () => CreateGpt2(), Gpt2Json, m => Gpt2FileTensors(m, bare: true), RunCausal);
        yield return new HfCase("bert", () => Seeded(new BertModel(BertConfig())), BertJson + "\"architectures\": [\"BertModel\"]}",
            m => new Dictionary<string, Tensor>(StateDict(m)) { ["embeddings.position_ids"] = torch.arange(16).unsqueeze(0) }, RunBert);
        yield return new HfCase("bert-classifier", () => Seeded(new BertForSequenceClassification(BertConfig(), 3)),
            BertJson + "\"architectures\": [\"BertForSequenceClassification\"], \"id2label\": {\"0\": \"a\", \"1\": \"b\", \"2\": \"c\"}}", StateDict, RunBert);
    }
}

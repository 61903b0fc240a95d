using FineTuning.Models.Llama;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Quantization.Tests;

/// <summary>The small LLaMA the quantization tests share (hidden 64, 2 layers, GQA 4/2, vocab 48), and its logits on fixed ids.</summary>
internal static class TinyLlamas
{
    /// <summary>The seven projections of a LLaMA layer.</summary>
    internal static readonly string[] Projections = { "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj" };

    /// <summary>Every projection, the output head and the token embedding.</summary>
    internal static readonly string[] Everything = { "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj", "lm_head", "embed_tokens" };

    /// <summary>The architecture.</summary>
    internal static LlamaConfig Config(bool tied) => new()
    {
        HiddenSize = 64, IntermediateSize = 128, NumHiddenLayers = 2, NumAttentionHeads = 4, NumKeyValueHeads = 2,
        VocabSize = 48, MaxPositionEmbeddings = 64, TieWordEmbeddings = tied,
    };

    /// <summary>A model with weights drawn from N(0, 0.3) by a generator seeded with <paramref name="seed"/>, in eval mode.</summary>
    internal static LlamaForCausalLM Create(bool tied, ulong seed)
    {
        var model = new LlamaForCausalLM(Config(tied));
        using var g = new Generator(seed);
        model.InitializeWeights(g, std: 0.3);
        model.eval();
        return model;
    }

    /// <summary>The logits for a fixed [2, 4] batch of ids, without gradients.</summary>
    internal static Tensor Logits(LlamaForCausalLM model)
    {
        using var noGrad = no_grad();
        using Tensor ids = tensor(new long[] { 3, 4, 5, 6, 7, 20, 30, 1 }, new long[] { 2, 4 });
        return model.Forward(ids).detach();
    }
}

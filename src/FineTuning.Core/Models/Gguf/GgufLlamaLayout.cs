using System;
using FineTuning.Models.Llama;
using static TorchSharp.torch;

namespace FineTuning.Models.Gguf;

/// <summary>
/// How a LLaMA-family model in Hugging Face layout maps onto llama.cpp's GGUF architectures: the architecture name,
/// the tensor names (gguf-py's <c>MODEL_TENSOR</c> names: <c>token_embd</c>, <c>blk.N.attn_q</c>, ...), and the Q/K row
/// permutation that llama.cpp's convert_hf_to_gguf.py applies for the <c>llama</c> architecture, whose rotary embedding
/// rotates adjacent pairs (2i, 2i+1) where HF rotates halves (i, i + d/2). Qwen2 uses the half rotation in llama.cpp
/// too (NEOX mode), so its rows stay as they are.
/// </summary>
internal static class GgufLlamaLayout
{
    /// <summary>The GGUF architecture of <paramref name="config"/>: <c>llama</c> (LLaMA, Mistral) or <c>qwen2</c>.</summary>
    /// <exception cref="NotSupportedException">The model type or a setting has no GGUF form here.</exception>
    internal static string Architecture(LlamaConfig config)
    {
        string arch = config.ModelType switch
        {
            "llama" or "mistral" => "llama",
            "qwen2" => "qwen2",
            _ => throw new NotSupportedException($"GGUF export of model_type \"{config.ModelType}\" is not supported yet (llama, mistral and qwen2 are)."),
        };
        if (config.RopeScaling is not null)
        {
            throw new NotSupportedException($"GGUF export of rope_scaling type \"{config.RopeScaling.RopeType}\" is not supported yet (llama.cpp needs a rope_freqs tensor).");
        }

        if (arch == "qwen2" && config.AttentionBias && config.OutputProjectionBias)
        {
            throw new NotSupportedException("GGUF export of a qwen2 model with an o_proj bias is not supported: llama.cpp's qwen2 has no attn_output.bias.");
        }

        return arch;
    }

    /// <summary>The GGUF name of the HF parameter <paramref name="hfName"/>, or null when it has none.</summary>
    internal static string? TensorName(string hfName)
    {
        switch (hfName)
        {
            case "model.embed_tokens.weight": return "token_embd.weight";
            case "model.norm.weight": return "output_norm.weight";
            case "lm_head.weight": return "output.weight";
        }

        return GgufNames.Block(hfName, "model.layers.", static module => module switch
        {
            "input_layernorm" => "attn_norm",
            "self_attn.q_proj" => "attn_q",
            "self_attn.k_proj" => "attn_k",
            "self_attn.v_proj" => "attn_v",
            "self_attn.o_proj" => "attn_output",
            "post_attention_layernorm" => "ffn_norm",
            "mlp.gate_proj" => "ffn_gate",
            "mlp.up_proj" => "ffn_up",
            "mlp.down_proj" => "ffn_down",
            _ => null,
        });
    }

    /// <summary>
    /// The number of heads whose output rows must be permuted for <paramref name="ggufName"/> (the query heads for
    /// <c>attn_q</c>, the key/value heads for <c>attn_k</c>, weights and biases alike), or 0 when none are.
    /// </summary>
    internal static int PermutedHeads(string ggufName, LlamaConfig config, string architecture)
    {
        if (architecture != "llama") return 0;
        if (ggufName.Contains(".attn_q.", StringComparison.Ordinal)) return config.NumAttentionHeads;
        if (ggufName.Contains(".attn_k.", StringComparison.Ordinal)) return config.EffectiveKeyValueHeads;
        return 0;
    }

    /// <summary>
    /// Reorders the output rows of each head from HF's half layout to llama.cpp's pairwise layout, as
    /// convert_hf_to_gguf.py's <c>LlamaModel.permute</c>: row (h, half, i) moves to (h, i, half). The inverse of
    /// <see cref="Llama2CCheckpoint"/>'s load-time reordering, so a llama2.c model leaves with its original rows.
    /// </summary>
    internal static Tensor PermuteRows(Tensor rows, int heads)
    {
        long outFeatures = rows.shape[0];
        long headDim = outFeatures / heads;
        long[] rest = rows.shape[1..];
        long[] shape = new long[3 + rest.Length];
        shape[0] = heads;
        shape[1] = 2;
        shape[2] = headDim / 2;
        rest.CopyTo(shape, 3);
        return rows.reshape(shape).transpose(1, 2).reshape(rows.shape);
    }
}

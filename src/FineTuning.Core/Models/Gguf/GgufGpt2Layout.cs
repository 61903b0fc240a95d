using System;
using FineTuning.Models.Gpt2;

namespace FineTuning.Models.Gguf;

/// <summary>
/// How our GPT-2 maps onto llama.cpp's <c>gpt2</c> architecture: gguf-py's tensor names (<c>position_embd</c>,
/// <c>blk.N.attn_qkv</c>, ...) and metadata. Our linear weights are [out, in] like PyTorch's Linear (HF's Conv1D files
/// store [in, out]), which is the layout ggml expects, so nothing is transposed; the head is tied to <c>token_embd</c>.
/// </summary>
internal static class GgufGpt2Layout
{
    internal const string Architecture = "gpt2";

    /// <summary>The GGUF name of our GPT-2 parameter <paramref name="name"/>, or null when it has none.</summary>
    internal static string? TensorName(string name)
    {
        switch (name)
        {
            case "transformer.wte.weight": return "token_embd.weight";
            case "transformer.wpe.weight": return "position_embd.weight";
            case "transformer.ln_f.weight": return "output_norm.weight";
            case "transformer.ln_f.bias": return "output_norm.bias";
        }

        return GgufNames.Block(name, "transformer.h.", static module => module switch
        {
            "ln_1" => "attn_norm",
            "attn.c_attn" => "attn_qkv",
            "attn.c_proj" => "attn_output",
            "ln_2" => "ffn_norm",
            "mlp.c_fc" => "ffn_up",
            "mlp.c_proj" => "ffn_down",
            _ => null,
        });
    }

    internal static void WriteMetadata(GgufWriter w, Gpt2Config c, GgufExportOptions o)
    {
        const string a = Architecture;
        w.AddUInt32($"{a}.vocab_size", (uint)c.VocabSize);
        w.AddUInt32($"{a}.context_length", (uint)(o.ContextLength ?? c.NPositions));
        w.AddUInt32($"{a}.embedding_length", (uint)c.NEmbd);
        w.AddUInt32($"{a}.feed_forward_length", (uint)c.EffectiveInner);
        w.AddUInt32($"{a}.block_count", (uint)c.NLayer);
        w.AddUInt32($"{a}.attention.head_count", (uint)c.NHead);
        w.AddFloat32($"{a}.attention.layer_norm_epsilon", (float)c.LayerNormEpsilon);
    }
}

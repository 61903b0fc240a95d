using FineTuning.Generation;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Models.Llama;

/// <summary>One pre-norm decoder layer: <c>x + attn(norm(x))</c>, then <c>x + mlp(norm(x))</c>.</summary>
internal sealed class LlamaDecoderLayer : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // field names are state-dict keys
    private readonly RmsNorm input_layernorm;
    private readonly LlamaAttention self_attn;
    private readonly RmsNorm post_attention_layernorm;
    private readonly LlamaMlp mlp;
#pragma warning restore IDE1006
    private readonly int index;

    internal LlamaDecoderLayer(LlamaConfig config, int index, Device? device, ScalarType? dtype)
        : base(nameof(LlamaDecoderLayer))
    {
        this.index = index;
        input_layernorm = new RmsNorm(config.HiddenSize, config.RmsNormEps, device, dtype);
        self_attn = new LlamaAttention(config, device, dtype);
        post_attention_layernorm = new RmsNorm(config.HiddenSize, config.RmsNormEps, device, dtype);
        mlp = new LlamaMlp(config, device, dtype);
        RegisterComponents();
    }

    /// <summary>Gate the MLP with the fused SwiGLU function and normalise with the RMSNorm kernel (default), or use ordinary ops.</summary>
    internal bool Fused
    {
        set
        {
            mlp.Fused = value;
            input_layernorm.Fused = value;
            post_attention_layernorm.Fused = value;
            self_attn.Fused = value;
        }
    }

    public override Tensor forward(Tensor input) =>
        throw new System.NotSupportedException("LlamaDecoderLayer needs rotary tables; call it through LlamaForCausalLM.");

    internal Tensor Forward(Tensor x, Tensor cos, Tensor sin, Tensor? mask, KVCache? cache)
    {
        using var scope = torch.NewDisposeScope();
        // Each block's output is freed as soon as the residual sum is made (the sum saves nothing for backward), so
        // its memory is reused at once instead of leaving a hole in the native heap until the scope ends. Not in
        // place: a block may end in an adapter's custom autograd function, whose output autograd will not let us modify.
        Tensor h;
        using (Tensor attended = self_attn.Forward(input_layernorm.call(x), cos, sin, mask, cache, index)) h = x + attended;
        Tensor output;
        using (Tensor mlpOut = mlp.call(post_attention_layernorm.call(h))) output = h + mlpOut;
        return output.MoveToOuterDisposeScope();
    }
}

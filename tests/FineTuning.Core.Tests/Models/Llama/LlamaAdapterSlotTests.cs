using System.Linq;
using System.Reflection;
using FineTuning.Models.Llama;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Core.Tests.Models.Llama;

/// <summary>What an adapter package relies on: projections are found by HF name and can be swapped for a wrapper.</summary>
public sealed class LlamaAdapterSlotTests
{
    [Fact]
    public void Projection_ReplacedByWrapper_ChangesForwardAndStateDictKeys()
    {
        using LlamaForCausalLM model = TinyLlama.Create(TinyLlama.Config());
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        Tensor ids = torch.tensor(new long[] { 1, 5, 6, 7 }, new long[] { 1, 4 });
        Tensor before = model.forward(ids);

        (string name, nn.Module parent) = model.named_modules().Single(m => m.name == "model.layers.1.self_attn");
        var original = (nn.Module<Tensor, Tensor>)parent.named_children().Single(c => c.name == "v_proj").module;
        var wrapper = new ZeroingWrapper(original);
        parent.register_module("v_proj", null!);
        parent.register_module("v_proj", wrapper);
        parent.GetType().GetField("v_proj", BindingFlags.Instance | BindingFlags.NonPublic)!.SetValue(parent, wrapper);
        Tensor after = model.forward(ids);

        Assert.Equal("model.layers.1.self_attn", name);
        Assert.Contains("model.layers.1.self_attn.v_proj.base_layer.weight", model.state_dict().Keys);
        Assert.False(after.allclose(before, rtol: 0, atol: 1e-3));
    }

    /// <summary>Stands in for a LoRA layer: keeps the base layer as a child and changes the output.</summary>
    private sealed class ZeroingWrapper : nn.Module<Tensor, Tensor>
    {
#pragma warning disable IDE1006 // PEFT's state-dict name
        private readonly nn.Module<Tensor, Tensor> base_layer;
#pragma warning restore IDE1006

        internal ZeroingWrapper(nn.Module<Tensor, Tensor> baseLayer)
            : base(nameof(ZeroingWrapper))
        {
            base_layer = baseLayer;
            RegisterComponents();
        }

        public override Tensor forward(Tensor input) => base_layer.call(input) * 0;
    }
}

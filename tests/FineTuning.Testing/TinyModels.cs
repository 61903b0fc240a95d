using System;
using FineTuning.Models.Llama;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuning.Testing;

/// <summary>Small deterministic models for tests: initialised from an explicit generator, never the global one.</summary>
public static class TinyModels
{
    /// <summary>A 2-layer MLP (Linear, Tanh, Linear) with weights drawn from <paramref name="seed"/>.</summary>
    public static Mlp Mlp(int inputs, int hidden, int outputs, ulong seed)
    {
        var model = new Mlp(inputs, hidden, outputs);
        Initialise(model, seed);
        return model;
    }

    /// <summary>
    /// A one-layer LLaMA over <see cref="ByteTokenizer"/>'s 259 ids (hidden 16, tied head), weights N(0, 0.3²) from
    /// generator seed 5: what the SFT tests train.
    /// </summary>
    public static LlamaForCausalLM ByteLlama()
    {
        var model = new LlamaForCausalLM(new LlamaConfig
        {
            HiddenSize = 16, IntermediateSize = 32, NumHiddenLayers = 1, NumAttentionHeads = 2, NumKeyValueHeads = 1,
            VocabSize = 259, MaxPositionEmbeddings = 128, TieWordEmbeddings = true,
        });
        using var g = new Generator(5);
        model.InitializeWeights(g, std: 0.3);
        return model;
    }

    /// <summary>Overwrites every parameter with N(0, 1/fan_in) draws from a generator seeded with <paramref name="seed"/>.</summary>
    public static void Initialise(nn.Module model, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var generator = new Generator(seed);
        using var noGrad = no_grad();
        foreach (Parameter p in model.parameters())
        {
            long fanIn = p.dim() > 1 ? p.shape[1] : p.shape[0];
            using Tensor draw = randn(p.shape, generator: generator);
            using Tensor scaled = draw.mul(1.0 / Math.Sqrt(fanIn));
            p.copy_(scaled);
        }
    }
}

/// <summary>Linear, Tanh, Linear.</summary>
public sealed class Mlp : nn.Module<Tensor, Tensor>
{
    private readonly Linear fc1;
    private readonly Linear fc2;

    /// <summary>Creates the layers (random PyTorch default init; see <see cref="TinyModels.Initialise"/>).</summary>
    public Mlp(int inputs, int hidden, int outputs)
        : base(nameof(Mlp))
    {
        fc1 = nn.Linear(inputs, hidden);
        fc2 = nn.Linear(hidden, outputs);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using Tensor h = fc1.call(input);
        using Tensor a = h.tanh();
        return fc2.call(a);
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            fc1.Dispose();
            fc2.Dispose();
        }
        base.Dispose(disposing);
    }
}

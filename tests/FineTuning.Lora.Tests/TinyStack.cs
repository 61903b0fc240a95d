using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuning.Lora.Tests;

/// <summary>Blocks in a ModuleList under "model.layers", as HF decoders name them: model.layers.{i}.q_proj / v_proj.</summary>
public sealed class TinyStack : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006, SA1300 // state-dict names
    private readonly Stack model;
#pragma warning restore IDE1006, SA1300

    public TinyStack(int dim = 8, int blocks = 3, ulong seed = 1)
        : base(nameof(TinyStack))
    {
        model = new Stack(dim, blocks);
        RegisterComponents();
        FineTuning.Testing.TinyModels.Initialise(this, seed);
    }

    public override Tensor forward(Tensor input) => model.call(input);

    private sealed class Stack : nn.Module<Tensor, Tensor>
    {
#pragma warning disable IDE1006, SA1300
        private readonly ModuleList<TinyBlock.Inner> layers = new();
#pragma warning restore IDE1006, SA1300

        public Stack(int dim, int blocks)
            : base(nameof(Stack))
        {
            for (int i = 0; i < blocks; i++) layers.Add(new TinyBlock.Inner(dim));
            RegisterComponents();
        }

        public override Tensor forward(Tensor input)
        {
            Tensor h = input;
            foreach (TinyBlock.Inner block in layers) h = block.call(h);
            return h;
        }
    }
}

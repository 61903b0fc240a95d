using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Quantization.Tests;

/// <summary>Two projections with HF-style names inside a block, and a classifier head; widths divisible by 64.</summary>
public sealed class TinyNet : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006, SA1300 // state-dict names
    private readonly Block model;
    private nn.Module<Tensor, Tensor> classifier;
#pragma warning restore IDE1006, SA1300

    public TinyNet(int dim = 64, int classes = 3, ulong seed = 1)
        : base(nameof(TinyNet))
    {
        model = new Block(dim);
        classifier = nn.Linear(dim, classes);
        RegisterComponents();
        FineTuning.Testing.TinyModels.Initialise(this, seed);
    }

    public override Tensor forward(Tensor input)
    {
        using Tensor h = model.call(input);
        return classifier.call(h);
    }

    /// <summary>Holds the projections, as a transformer layer would.</summary>
    public sealed class Block : nn.Module<Tensor, Tensor>
    {
#pragma warning disable IDE1006, SA1300
        private readonly nn.Module<Tensor, Tensor> up_proj;
        private readonly nn.Module<Tensor, Tensor> down_proj;
#pragma warning restore IDE1006, SA1300

        public Block(int dim)
            : base(nameof(Block))
        {
            up_proj = nn.Linear(dim, 2 * dim);
            down_proj = nn.Linear(2 * dim, dim, hasBias: false);
            RegisterComponents();
        }

        public override Tensor forward(Tensor input)
        {
            using Tensor u = up_proj.call(input);
            using Tensor a = u.tanh();
            using Tensor d = down_proj.call(a);
            return d.add(input);
        }
    }
}

/// <summary>Keeps its layer in a field typed as the sealed Linear: it cannot be replaced.</summary>
public sealed class SealedFieldNet : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006, SA1300
    private readonly TorchSharp.Modules.Linear proj;
#pragma warning restore IDE1006, SA1300

    public SealedFieldNet()
        : base(nameof(SealedFieldNet))
    {
        proj = nn.Linear(64, 64);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input) => proj.call(input);
}

using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuning.Lora.Tests;

/// <summary>A small attention-free block with HF-style layer names and a classifier head.</summary>
public sealed class TinyBlock : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006, SA1300 // state-dict names
    private readonly Inner model;
    private nn.Module<Tensor, Tensor> classifier;
#pragma warning restore IDE1006, SA1300

    public TinyBlock(int dim = 8, int classes = 3, ulong seed = 1)
        : base(nameof(TinyBlock))
    {
        model = new Inner(dim);
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
    public sealed class Inner : nn.Module<Tensor, Tensor>
    {
#pragma warning disable IDE1006, SA1300
        private readonly nn.Module<Tensor, Tensor> q_proj;
        private readonly nn.Module<Tensor, Tensor> v_proj;
        private readonly LayerNorm norm;
#pragma warning restore IDE1006, SA1300

        public Inner(int dim)
            : base(nameof(Inner))
        {
            q_proj = nn.Linear(dim, dim);
            v_proj = nn.Linear(dim, dim);
            norm = nn.LayerNorm(dim);
            RegisterComponents();
        }

        public override Tensor forward(Tensor input)
        {
            using Tensor q = q_proj.call(input);
            using Tensor a = q.tanh();
            using Tensor v = v_proj.call(a);
            return norm.call(v.add(input));
        }
    }
}

/// <summary>A module that keeps its layer in a field typed as the sealed Linear: adapters cannot wrap it.</summary>
public sealed class SealedFieldModel : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006, SA1300
    private readonly Linear proj = nn.Linear(4, 4);
#pragma warning restore IDE1006, SA1300

    public SealedFieldModel()
        : base(nameof(SealedFieldModel)) => RegisterComponents();

    public override Tensor forward(Tensor input) => proj.call(input);
}

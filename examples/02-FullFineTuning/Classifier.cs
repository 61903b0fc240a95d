using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuning.Examples.FullFineTuning;

/// <summary>A small MLP classifier (Linear, GELU, Linear, GELU, Linear), initialised from an explicit generator.</summary>
internal sealed class Classifier : nn.Module<Tensor, Tensor>
{
    private readonly Linear fc1, fc2, head;

    public Classifier(int inputs, int hidden, int classes, ulong seed)
        : base(nameof(Classifier))
    {
        fc1 = nn.Linear(inputs, hidden);
        fc2 = nn.Linear(hidden, hidden);
        head = nn.Linear(hidden, classes);
        RegisterComponents();
        using var generator = new Generator(seed);
        using var noGrad = no_grad();
        foreach (Parameter p in parameters())
        {
            using Tensor draw = randn(p.shape, generator: generator);
            using Tensor scaled = draw.mul(1.0 / System.Math.Sqrt(p.dim() > 1 ? p.shape[1] : p.shape[0]));
            p.copy_(scaled);
        }
    }

    public override Tensor forward(Tensor input)
    {
        using Tensor h1 = nn.functional.gelu(fc1.call(input));
        using Tensor h2 = nn.functional.gelu(fc2.call(h1));
        return head.call(h2);
    }
}

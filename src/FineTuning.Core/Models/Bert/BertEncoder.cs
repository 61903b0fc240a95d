using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuning.Models.Bert;

#pragma warning disable IDE1006 // Field names are Hugging Face state-dict keys.

/// <summary>The stack of layers (HF <c>BertEncoder</c>: keys <c>layer.{i}.*</c>).</summary>
internal sealed class BertEncoder : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly ModuleList<BertLayer> layer;

    internal BertEncoder(BertConfig config)
        : base(nameof(BertEncoder))
    {
        layer = new ModuleList<BertLayer>(Enumerable.Range(0, config.NumHiddenLayers).Select(_ => new BertLayer(config)).ToArray());
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden, Tensor attend)
    {
        Tensor current = hidden.alias();
        foreach (BertLayer l in layer)
        {
            Tensor next = l.forward(current, attend);
            current.Dispose();
            current = next;
        }
        return current;
    }
}

/// <summary>Dense + tanh over the [CLS] state (HF <c>BertPooler</c>: keys <c>dense.*</c>).</summary>
internal sealed class BertPooler : nn.Module<Tensor, Tensor>
{
    private nn.Module<Tensor, Tensor> dense;

    internal BertPooler(BertConfig config)
        : base(nameof(BertPooler))
    {
        dense = nn.Linear(config.HiddenSize, config.HiddenSize);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden)
    {
        using var scope = NewDisposeScope();
        return dense.forward(hidden.select(1, 0)).tanh().MoveToOuterDisposeScope();
    }
}
#pragma warning restore IDE1006

using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuning.Testing;

/// <summary>
/// A scripted causal LM: the logits at a position are the row of <c>table</c> for the token there, so what it predicts
/// and how likely it finds any text can be computed by hand from the table.
/// </summary>
public sealed class BigramModel : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // state-dict name
    private readonly Parameter table;
#pragma warning restore IDE1006

    /// <summary>Creates the model from its logit table [vocab, vocab] (row = current token).</summary>
    public BigramModel(double[,] logits)
        : base(nameof(BigramModel))
    {
        table = new Parameter(tensor(logits, ScalarType.Float64).DetachFromDisposeScope());
        RegisterComponents();
    }

    /// <summary>Vocabulary size.</summary>
    public int Vocab => (int)table.shape[0];

    /// <summary>The table as it is now, in float64.</summary>
    public double[,] Table()
    {
        using Tensor copy = table.detach().cpu();
        var result = new double[Vocab, Vocab];
        double[] flat = copy.data<double>().ToArray();
        for (int r = 0; r < Vocab; r++)
            for (int c = 0; c < Vocab; c++)
                result[r, c] = flat[(r * Vocab) + c];
        return result;
    }

    /// <summary>Logits [batch, T, vocab] for ids [batch, T].</summary>
    public override Tensor forward(Tensor input)
    {
        using Tensor flat = input.reshape(-1);
        using Tensor rows = table.index_select(0, flat);
        return rows.reshape(input.shape[0], input.shape[1], Vocab);
    }

    /// <summary>Scale times a one-hot of (token + 1) mod vocab: it always predicts the next token id.</summary>
    public static BigramModel Successor(int vocab, double scale)
    {
        var logits = new double[vocab, vocab];
        for (int t = 0; t < vocab; t++) logits[t, (t + 1) % vocab] = scale;
        return new BigramModel(logits);
    }
}

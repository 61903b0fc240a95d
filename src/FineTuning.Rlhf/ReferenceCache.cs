using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Rlhf;

/// <summary>
/// Reference log-probabilities cached per example (two numbers each: chosen/rejected, or matched/KL), computed once
/// with the model as it is, in evaluation mode and without gradients. Shared by the preference objectives.
/// </summary>
internal sealed class ReferenceCache<TExample>
    where TExample : class
{
    private readonly Dictionary<TExample, (double First, double Second)> _values = new(ReferenceEqualityComparer.Instance);

    public bool Contains(TExample example) => _values.ContainsKey(example);

    /// <summary>Computes and stores the values of the examples not cached yet, 8 at a time.</summary>
    public void Fill(nn.Module model, IEnumerable<TExample> examples, Func<TExample[], (Tensor First, Tensor Second)> compute)
    {
        bool wasTraining = model.training;
        model.eval();
        try
        {
            using var noGrad = no_grad();
            foreach (TExample[] chunk in examples.Where(e => !_values.ContainsKey(e)).Chunk(8))
            {
                using var scope = NewDisposeScope();
                (Tensor first, Tensor second) = compute(chunk);
                double[] a = first.to(ScalarType.Float64).cpu().data<double>().ToArray(), b = second.to(ScalarType.Float64).cpu().data<double>().ToArray();
                for (int i = 0; i < chunk.Length; i++) _values[chunk[i]] = (a[i], b[i]);
            }
        }
        finally
        {
            model.train(wasTraining);
        }
    }

    /// <summary>The cached values of <paramref name="examples"/> as two float tensors, or the error <paramref name="missing"/> describes.</summary>
    public (Tensor First, Tensor Second) Lookup(IReadOnlyList<TExample> examples, Device device, string missing)
    {
        if (examples.Any(e => !_values.ContainsKey(e))) throw new InvalidOperationException(missing);
        return (tensor(examples.Select(e => (float)_values[e].First).ToArray(), device: device),
                tensor(examples.Select(e => (float)_values[e].Second).ToArray(), device: device));
    }
}

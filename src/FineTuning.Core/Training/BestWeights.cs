using System;
using System.Collections.Generic;
using static TorchSharp.torch;

namespace FineTuning.Training;

/// <summary>
/// A copy of the trainable parameters at the best evaluation so far (<see cref="TrainingOptions.LoadBestAtEnd"/>);
/// only evaluations made in this process are candidates, since a resumed run has no earlier weights in memory.
/// </summary>
internal sealed class BestWeights(EarlyStopping rule, int firstCandidate) : IDisposable
{
    private readonly Dictionary<string, Tensor> _copies = new(StringComparer.Ordinal);

    /// <summary>The evaluation whose weights are held, or null before the first candidate.</summary>
    public EvaluationMetrics? Best { get; private set; }

    /// <summary>After an evaluation was appended to <paramref name="evaluations"/>: copies the weights when it is the best candidate.</summary>
    public void Consider(IReadOnlyList<EvaluationMetrics> evaluations, IReadOnlyList<TrainableParameter> trainable)
    {
        var candidates = new List<EvaluationMetrics>();
        for (int i = firstCandidate; i < evaluations.Count; i++) candidates.Add(evaluations[i]);
        if (rule.BestIndex(candidates) != candidates.Count - 1) return;
        using var noGrad = no_grad();
        foreach (TrainableParameter p in trainable)
        {
            if (_copies.TryGetValue(p.Name, out Tensor? copy)) copy.copy_(p.Parameter);
            else _copies[p.Name] = p.Parameter.detach().clone().DetachFromDisposeScope();
        }
        Best = evaluations[^1];
    }

    /// <summary>Copies the held weights back into the parameters; false when nothing was held.</summary>
    public bool Restore(IReadOnlyList<TrainableParameter> trainable)
    {
        if (Best is null) return false;
        using var noGrad = no_grad();
        foreach (TrainableParameter p in trainable) p.Parameter.copy_(_copies[p.Name]);
        return true;
    }

    public void Dispose()
    {
        foreach (Tensor t in _copies.Values) t.Dispose();
        _copies.Clear();
    }
}

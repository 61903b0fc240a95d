using System;
using System.Collections.Generic;
using System.Linq;
using FineTuning.Evaluation;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Training;

/// <summary>
/// Cross-entropy over class logits for a model of type <c>Module&lt;Tensor, Tensor&gt;</c> that maps
/// [batch, features] to [batch, classes]. One target per example.
/// </summary>
public sealed class VectorClassificationObjective : IEvaluatingObjective<LabeledVector>
{
    /// <inheritdoc />
    public long CountTargets(IReadOnlyList<LabeledVector> examples)
    {
        ArgumentNullException.ThrowIfNull(examples);
        return examples.Count;
    }

    /// <inheritdoc />
    public Tensor SummedLoss(nn.Module model, IReadOnlyList<LabeledVector> examples, Device device) => Loss(model, examples, device, null);

    /// <inheritdoc />
    public Tensor SummedLoss(nn.Module model, IReadOnlyList<LabeledVector> examples, Device device, PredictionRecorder predictions)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        return Loss(model, examples, device, predictions);
    }

    private static Tensor Loss(nn.Module model, IReadOnlyList<LabeledVector> examples, Device device, PredictionRecorder? predictions)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(examples);
        if (model is not nn.Module<Tensor, Tensor> forward)
            throw new ArgumentException($"{nameof(VectorClassificationObjective)} needs a Module<Tensor, Tensor>; got {model.GetType().Name}.", nameof(model));
        int width = examples[0].Features.Length;
        var flat = new float[examples.Count * width];
        for (int i = 0; i < examples.Count; i++)
        {
            if (examples[i].Features.Length != width)
                throw new ArgumentException($"Example {i} has {examples[i].Features.Length} features; the first has {width}.", nameof(examples));
            Array.Copy(examples[i].Features, 0, flat, i * width, width);
        }
        ScalarType dtype = model.parameters().First().dtype;
        Tensor input = tensor(flat, new long[] { examples.Count, width }).to(dtype, device);
        Tensor labels = tensor(examples.Select(e => e.Label).ToArray()).to(device);
        Tensor logits = forward.call(input);
        predictions?.AddClassLogits(logits, labels);
        return nn.functional.cross_entropy(logits.to(ScalarType.Float32), labels, reduction: nn.Reduction.Sum);
    }

    /// <summary>Fraction of examples whose highest logit is the label.</summary>
    public static double Accuracy(nn.Module<Tensor, Tensor> model, IReadOnlyList<LabeledVector> examples)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(examples);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        int width = examples[0].Features.Length;
        ScalarType dtype = model.parameters().First().dtype;
        Device device = model.parameters().First().device;
        Tensor input = tensor(examples.SelectMany(e => e.Features).ToArray(), new long[] { examples.Count, width }).to(dtype, device);
        long[] predicted = model.call(input).argmax(1).cpu().data<long>().ToArray();
        return predicted.Where((p, i) => p == examples[i].Label).Count() / (double)examples.Count;
    }
}

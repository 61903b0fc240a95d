using System;
using System.Collections.Generic;
using System.Linq;
using FineTuning.Training;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Core.Tests.Training;

/// <summary>
/// Gradient accumulation must give the gradient of one large batch, normalised by the targets of the whole
/// optimizer step. With plain SGD at learning rate 1 and no clipping, one step moves each weight by exactly
/// minus its gradient, so comparing the weights after one step compares the gradients.
/// </summary>
public sealed class AccumulationTests
{
    /// <summary>A sequence of inputs with one target each; sequences have different lengths.</summary>
    public sealed record Sequence(float[] X, float[] Y);

    [Fact]
    public void FourMicroBatchesOfTwo_EqualOneBatchOfEight_WithUnequalTargetCounts()
    {
        Sequence[] data = MakeData();
        Tensor[] accumulated = OneStepDelta(data, batchSize: 2, accumulation: 4);
        Tensor[] large = OneStepDelta(data, batchSize: 8, accumulation: 1);
        Tensor[] reference = ReferenceGradient(data);
        double tolerance = GradientTolerance(data);

        for (int i = 0; i < reference.Length; i++)
        {
            Assert.True(accumulated[i].allclose(large[i], rtol: 0, atol: tolerance), $"accumulated vs large batch, parameter {i}");
            Assert.True(large[i].allclose(reference[i].neg(), rtol: 0, atol: tolerance), $"large batch vs reference, parameter {i}");
        }
    }

    [Fact]
    public void PerMicroBatchAveraging_WouldDiffer_SoTheTestCanFail()
    {
        // Guard that the data really has unequal target counts: averaging per micro-batch then over micro-batches
        // gives a different gradient from the token-weighted mean, so the test above would catch that bug.
        Sequence[] data = MakeData();
        Tensor[] reference = ReferenceGradient(data);
        Tensor[] perBatch = ReferenceGradient(data.Take(2).ToArray());
        for (int b = 1; b < 4; b++)
        {
            Tensor[] g = ReferenceGradient(data.Skip(2 * b).Take(2).ToArray());
            for (int i = 0; i < g.Length; i++) perBatch[i] = perBatch[i] + g[i];
        }
        double tolerance = GradientTolerance(data);
        Assert.Contains(Enumerable.Range(0, reference.Length), i => !perBatch[i].div(4).allclose(reference[i], rtol: 0, atol: 100 * tolerance));
    }

    /// <summary>
    /// How far two float32 evaluations of the mean-squared-error gradient may differ: each is a sum of one term per target
    /// (2 (w x + b - y) x for the weight, 2 (w x + b - y) for the bias), summed in some order and divided by the count;
    /// a few extra additions cover the per-micro-batch partial sums. Around 1e-6 for this data.
    /// </summary>
    private static double GradientTolerance(Sequence[] data)
    {
        double sumOfMagnitudes = data.Sum(s => s.X.Select((x, j) => 2 * Math.Abs((0.3 * x) - 0.2 - s.Y[j]) * Math.Max(1, Math.Abs(x))).Sum());
        int count = data.Sum(s => s.Y.Length);
        return FineTuning.Testing.Tolerance.Fp32Sum(count + 8, sumOfMagnitudes) / count;
    }

    private static Sequence[] MakeData()
    {
        var random = new Random(3);
        int[] lengths = { 1, 7, 2, 5, 3, 9, 1, 4 };
        return lengths.Select(n => new Sequence(
            Enumerable.Range(0, n).Select(_ => (float)random.NextDouble() * 2 - 1).ToArray(),
            Enumerable.Range(0, n).Select(_ => (float)random.NextDouble()).ToArray())).ToArray();
    }

    private static Linear MakeModel()
    {
        Linear model = nn.Linear(1, 1);
        using (no_grad())
        {
            model.weight!.copy_(tensor(new[] { 0.3f }).reshape(1, 1));
            model.bias!.copy_(tensor(new[] { -0.2f }));
        }
        return model;
    }

    private static Tensor SummedSquaredError(nn.Module model, IReadOnlyList<Sequence> batch, Device device)
    {
        var linear = (Linear)model;
        Tensor x = tensor(batch.SelectMany(s => s.X).ToArray()).reshape(-1, 1);
        Tensor y = tensor(batch.SelectMany(s => s.Y).ToArray()).reshape(-1, 1);
        return linear.call(x).sub(y).square().sum();
    }

    private static Tensor[] OneStepDelta(Sequence[] data, int batchSize, int accumulation)
    {
        using Linear model = MakeModel();
        Tensor[] before = model.parameters().Select(p => p.detach().clone()).ToArray();
        using TrainingRun run = FineTuner
            .For<Sequence>(model, SummedSquaredError, batch => batch.Sum(s => (long)s.Y.Length))
            .WithOptions(o =>
            {
                o.BatchSize = batchSize;
                o.GradientAccumulationSteps = accumulation;
                o.MaxSteps = 1;
                o.Shuffle = false;
                o.LearningRate = 1.0;
                o.Optimizer = new SgdOptimizer();
                o.Schedule = new ConstantSchedule();
                o.MaxGradNorm = null;
            })
            .Train(data);
        Assert.Single(run.History);
        Assert.Equal(data.Sum(s => s.Y.Length), run.History[0].Targets);
        return model.parameters().Select((p, i) => p.detach().sub(before[i])).ToArray();
    }

    /// <summary>The gradient of the mean squared error over every target, by plain autograd.</summary>
    private static Tensor[] ReferenceGradient(Sequence[] data)
    {
        using Linear model = MakeModel();
        Tensor loss = SummedSquaredError(model, data, CPU).div(data.Sum(s => s.Y.Length));
        loss.backward();
        return model.parameters().Select(p => p.grad!.clone()).ToArray();
    }
}

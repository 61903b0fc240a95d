using System.Collections.Generic;
using System.Linq;
using FineTuning.Training;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Core.Tests.Training;

/// <summary>Our optimizers against TorchSharp's own (libtorch's) implementations as the independent reference.</summary>
public sealed class OptimizerParityTests
{
    // fp32: elementwise updates only, a few roundings per step (rtol 1e-5 is ~100 float32 ulps after five steps).
    // fp64 parameters are updated in fp64 (no fp32 master, no fp32 moments): agreement to ~1e-15.
    [Theory]
    [InlineData(0.0, ScalarType.Float32, 1e-5, 1e-7)]
    [InlineData(0.1, ScalarType.Float32, 1e-5, 1e-7)]
    [InlineData(0.1, ScalarType.Float64, 1e-12, 1e-14)]
    public void AdamW_FiveSteps_MatchesTorchAdamW(double weightDecay, ScalarType dtype, double rtol, double atol)
    {
        using var scope = NewDisposeScope();
        (Parameter[] ours, Parameter[] reference) = TwinParameters(dtype);
        using var torchAdamW = optim.AdamW(reference, lr: 1e-2, beta1: 0.8, beta2: 0.95, eps: 1e-6, weight_decay: weightDecay);
        var adam = new AdamWOptimizer(Beta1: 0.8, Beta2: 0.95, Epsilon: 1e-6, WeightDecay: weightDecay, DecayNormsAndBiases: true);
        using IOptimizerState state = adam.Create(ours.Select((p, i) => new TrainableParameter($"p{i}", p, true)).ToList());

        for (int step = 0; step < 5; step++)
        {
            Backward(ours, step);
            Backward(reference, step);
            state.Step(1e-2);
            torchAdamW.step();
            foreach (Parameter p in ours.Concat(reference)) p.grad = null;
        }

        Assert.All(state.StateDict().Where(kv => kv.Key != "step"), kv => Assert.Equal(dtype, kv.Value.dtype));
        Assert.DoesNotContain(state.StateDict().Keys, k => k.EndsWith(".master", System.StringComparison.Ordinal));
        for (int i = 0; i < ours.Length; i++)
        {
            Assert.Equal(dtype, ours[i].dtype);
            Assert.True(ours[i].allclose(reference[i], rtol: rtol, atol: atol), $"parameter {i} differs");
        }
    }

    [Theory]
    [InlineData(0.0, 0.0, false)]
    [InlineData(0.9, 0.01, false)]
    [InlineData(0.9, 0.0, true)]
    public void Sgd_FiveSteps_MatchesTorchSgd(double momentum, double weightDecay, bool nesterov)
    {
        using var scope = NewDisposeScope();
        (Parameter[] ours, Parameter[] reference) = TwinParameters();
        using var torchSgd = optim.SGD(reference, learningRate: 0.05, momentum: momentum, weight_decay: weightDecay, nesterov: nesterov);
        var sgd = new SgdOptimizer(momentum, weightDecay, nesterov, DecayNormsAndBiases: true);
        using IOptimizerState state = sgd.Create(ours.Select((p, i) => new TrainableParameter($"p{i}", p, true)).ToList());

        for (int step = 0; step < 5; step++)
        {
            Backward(ours, step);
            Backward(reference, step);
            state.Step(0.05);
            torchSgd.step();
            foreach (Parameter p in ours.Concat(reference)) p.grad = null;
        }

        for (int i = 0; i < ours.Length; i++)
            Assert.True(ours[i].allclose(reference[i], rtol: 1e-5, atol: 1e-7), $"parameter {i} differs");
    }

    [Fact]
    public void AdamW_WeightDecay_SkipsOneDimensionalParametersByDefault()
    {
        using var scope = NewDisposeScope();
        var matrix = new Parameter(ones(2, 2));
        var bias = new Parameter(ones(2));
        var adam = new AdamWOptimizer(WeightDecay: 0.5);
        using IOptimizerState state = adam.Create(new List<TrainableParameter>
        {
            new("w", matrix, ApplyWeightDecay: true),
            new("b", bias, ApplyWeightDecay: false),
        });
        // Zero gradients: only decay can move the parameters.
        matrix.grad = zeros(2, 2);
        bias.grad = zeros(2);
        state.Step(0.1);
        Assert.Equal(1 - 0.1 * 0.5, matrix.data<float>()[0], tolerance: 1e-6);
        Assert.Equal(1f, bias.data<float>()[0]);
    }

    [Fact]
    public void AdamW_Bf16Parameter_KeepsFp32MasterSoTinyUpdatesAccumulate()
    {
        using var scope = NewDisposeScope();
        var p = new Parameter(ones(4, dtype: ScalarType.BFloat16));
        using IOptimizerState state = new AdamWOptimizer().Create(new List<TrainableParameter> { new("p", p, true) });
        // AdamW moves each step by about lr; 1e-4 is far below bf16's resolution at 1.0 (2^-7 = 0.0078).
        for (int i = 0; i < 200; i++)
        {
            p.grad = ones(4, dtype: ScalarType.BFloat16);
            state.Step(1e-4);
        }
        // 200 steps x 1e-4 = 0.02 in the fp32 master, rounded into bf16: the parameter must have moved.
        float value = p.to(ScalarType.Float32).data<float>()[0];
        Assert.InRange(value, 0.975f, 0.985f);
    }

    private static (Parameter[] Ours, Parameter[] Reference) TwinParameters(ScalarType dtype = ScalarType.Float32)
    {
        using var g = new Generator(7);
        Tensor w = randn(new long[] { 3, 4 }, generator: g).to(dtype);
        Tensor b = randn(new long[] { 4 }, generator: g).to(dtype);
        return (new[] { new Parameter(w.clone()), new Parameter(b.clone()) }, new[] { new Parameter(w.clone()), new Parameter(b.clone()) });
    }

    /// <summary>A loss whose gradient changes from step to step.</summary>
    private static void Backward(Parameter[] ps, int step)
    {
        using var scope = NewDisposeScope();
        Tensor loss = ps[0].sin().mul(step + 1).sum() + ps[1].square().mul(0.5).sum() + ps[0].sum(new long[] { 0 }).mul(ps[1]).sum();
        loss.backward();
    }
}

using System;
using System.Collections.Generic;
using System.Linq;
using FineTuning.Training;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Testing;

/// <summary>Gradients of every trainable parameter of a model, compared in fp64 (gradient checkpointing, chunked loss).</summary>
public static class GradientParity
{
    /// <summary>Gradients with checkpointing off and on, both from the same generator state, agree to 1e-9 relative (fp64 models).</summary>
    public static void AssertCheckpointingChangesNothing(nn.Module model, Func<nn.Module, Tensor> loss)
    {
        ArgumentNullException.ThrowIfNull(loss);
        using Tensor state = torch.random.get_rng_state();
        AssertSame(Gradients(model, loss, checkpoint: false, state), Gradients(model, loss, checkpoint: true, state));
    }

    /// <summary>
    /// Backpropagates <paramref name="loss"/>(model) with <see cref="ISupportsGradientCheckpointing.GradientCheckpointing"/>
    /// set to <paramref name="checkpoint"/>, from generator state <paramref name="rngState"/> when given; returns each
    /// trainable parameter's gradient (every one must get one) and clears them.
    /// </summary>
    public static Dictionary<string, double[]> Gradients(nn.Module model, Func<nn.Module, Tensor> loss, bool checkpoint, Tensor? rngState)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(loss);
        var checkpointable = (ISupportsGradientCheckpointing)model;
        checkpointable.GradientCheckpointing = checkpoint;
        try
        {
            if (rngState is not null) torch.random.set_rng_state(rngState);
            using var scope = NewDisposeScope();
            foreach (Parameter p in model.parameters()) p.grad = null;
            loss(model).backward();
            var result = new Dictionary<string, double[]>();
            foreach ((string name, Parameter p) in model.named_parameters().Where(p => p.parameter.requires_grad))
            {
                Tensor? grad = p.grad;
                Assert.True(grad is not null, $"{name} got no gradient (checkpoint: {checkpoint})");
                result[name] = grad.to_type(ScalarType.Float64).data<double>().ToArray();
                p.grad = null;
            }
            return result;
        }
        finally
        {
            checkpointable.GradientCheckpointing = false;
        }
    }

    /// <summary>Same parameter names, and each gradient within <see cref="Tolerance.Fp64Same"/> of the largest magnitude of its parameter's gradient.</summary>
    public static void AssertSame(Dictionary<string, double[]> expected, Dictionary<string, double[]> actual)
    {
        ArgumentNullException.ThrowIfNull(expected);
        ArgumentNullException.ThrowIfNull(actual);
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach ((string name, double[] e) in expected)
        {
            double scale = e.Length == 0 ? 0 : e.Max(Math.Abs);
            double[] a = actual[name];
            for (int i = 0; i < e.Length; i++)
            {
                Assert.True(Math.Abs(e[i] - a[i]) <= Tolerance.Fp64Same(scale), $"{name}[{i}]: {e[i]} vs {a[i]}");
            }
        }
    }
}

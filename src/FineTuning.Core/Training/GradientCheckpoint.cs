using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Training;

/// <summary>Runs a decoder layer through <see cref="CheckpointFunction"/> when checkpointing applies, plainly otherwise.</summary>
internal static class GradientCheckpoint
{
    /// <summary>Whether a forward of <paramref name="module"/> should checkpoint: switched on, training mode, gradients recorded, no KV cache.</summary>
    internal static bool Applies(bool enabled, nn.Module module, bool caching) =>
        enabled && !caching && module.training && torch.is_grad_enabled();

    /// <summary>
    /// Whether layer <paramref name="index"/> of <paramref name="count"/> runs checkpointed when checkpointing
    /// <paramref name="applies"/>: every layer but the last. The last layer's activations are what backward needs
    /// first, so recomputing them would hold the same tensors at the same moment (no memory saved) and cost one more
    /// layer forward (about 1/8 of the recomputation on an 8-layer model; docs/benchmarks/memory.md).
    /// </summary>
    internal static bool ForLayer(bool applies, int index, int count) => applies && index < count - 1;

    /// <summary>
    /// <paramref name="run"/>(x, extras) through one checkpointed node. The trainable parameters of
    /// <paramref name="layer"/> are read at each call, so adapters swapped in after construction are covered.
    /// </summary>
    internal static Tensor Run(nn.Module layer, Func<Tensor, IReadOnlyList<Tensor?>, Tensor> run, Tensor x, params Tensor?[] extras)
    {
        List<Tensor> parameters = layer.parameters().Where(p => p.requires_grad).Cast<Tensor>().ToList();
        if (parameters.Count == 0 && !x.requires_grad) return run(x, extras); // nothing to differentiate: no node needed
        var args = new object[parameters.Count + 2];
        args[0] = x;
        for (int i = 0; i < parameters.Count; i++) args[i + 1] = parameters[i];
        args[^1] = new CheckpointFunction.Layer(run, extras, parameters);
        return CheckpointFunction.apply(args);
    }
}

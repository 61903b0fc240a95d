using System;
using System.Collections.Generic;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace FineTuning.Training;

/// <summary>
/// Activation checkpointing as one autograd node (PyTorch's <c>torch.utils.checkpoint</c>, which TorchSharp lacks):
/// forward runs the layer without recording a graph and saves only its input, the extra tensors the layer reads
/// (rotary tables, mask) and the default generator's state; backward restores that state (so dropout draws the same
/// masks), runs the layer again with gradients and takes the gradients of its input and of its trainable parameters
/// with <c>autograd.grad</c>. The parameters are inputs of the node, so the engine accumulates their gradients as for
/// any other node, and the node is part of the graph even when its hidden-state input needs no gradient (frozen
/// embeddings under LoRA), which PyTorch's reentrant checkpoint gets wrong.
/// </summary>
internal sealed class CheckpointFunction : SingleTensorFunction<CheckpointFunction>
{
    public override string Name => "CheckpointedLayer";

    /// <summary>vars: the layer input x, then the trainable parameters, then the <see cref="Layer"/>.</summary>
    public override Tensor forward(AutogradContext ctx, params object[] vars)
    {
        var x = (Tensor)vars[0];
        var layer = (Layer)vars[^1];
        Tensor rng = torch.random.get_rng_state(); // before the layer draws its dropout masks
        Tensor output = layer.Run(x, layer.Extras);
        var saved = new List<Tensor> { x, rng };
        foreach (Tensor? extra in layer.Extras) saved.Add(extra!);
        ctx.save_for_backward(saved);
        ctx.save_data("layer", layer with { Extras = Array.Empty<Tensor?>(), InputNeedsGrad = x.requires_grad });
        return output;
    }

    public override List<Tensor> backward(AutogradContext ctx, Tensor grad_output)
    {
        var layer = (Layer)ctx.get_data("layer");
        using var scope = torch.NewDisposeScope();
        // The node's hold on its input and tables is dropped here, and the wrappers TorchSharp hands to and takes from
        // backward are freed as soon as the engine has them, not at the end of the step (SavedTensors).
        List<Tensor> saved = Models.Fused.SavedTensors.Take(ctx);
        var extras = new Tensor?[saved.Count - 2];
        for (int i = 0; i < extras.Length; i++) extras[i] = saved[i + 2];
        Tensor input = saved[0].detach().requires_grad_(layer.InputNeedsGrad);
        var wrt = new List<Tensor>(layer.Parameters.Count + 1);
        if (layer.InputNeedsGrad) wrt.Add(input);
        wrt.AddRange(layer.Parameters);

        Tensor output;
        using (torch.enable_grad())
        {
            using Tensor current = torch.random.get_rng_state();
            torch.random.set_rng_state(saved[1]);
            try
            {
                output = layer.Run(input, extras);
            }
            finally
            {
                torch.random.set_rng_state(current);
            }
        }

        IList<Tensor> grads = torch.autograd.grad(new[] { output }, wrt, new[] { grad_output }, allow_unused: true);
        Models.Fused.SavedTensors.Release(grad_output);
        var result = new List<Tensor>(layer.Parameters.Count + 2);
        int at = 0;
        result.Add(layer.InputNeedsGrad ? Defined(grads[at++]) : null!);
        for (int i = 0; i < layer.Parameters.Count; i++) result.Add(Defined(grads[at++]));
        result.Add(null!); // one entry per argument of apply: none for the layer record
        return result;
    }

    private static Tensor Defined(Tensor grad) => grad is null || grad.IsInvalid ? null! : Models.Fused.SavedTensors.Return(grad);

    /// <summary>
    /// The layer to run: <see cref="Run"/>(x, extras) must be a deterministic function of x, the extras, the
    /// <see cref="Parameters"/> and the default generator; <see cref="Extras"/> are saved as tensors (null allowed).
    /// </summary>
    internal sealed record Layer(Func<Tensor, IReadOnlyList<Tensor?>, Tensor> Run, IReadOnlyList<Tensor?> Extras, IReadOnlyList<Tensor> Parameters, bool InputNeedsGrad = false);
}

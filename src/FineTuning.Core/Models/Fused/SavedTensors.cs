using System;
using System.Collections.Generic;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace FineTuning.Models.Fused;

/// <summary>
/// Backward-side bookkeeping for TorchSharp 0.107 custom autograd functions (<see cref="SwiGluFunction"/>), whose node keeps its saved tensors until the
/// whole graph is freed (PyTorch releases them as soon as the node's backward ran) and hands backward new tensor
/// wrappers that land in whatever dispose scope is open (the training step's): without this, every activation saved by
/// a custom node lives until the end of the step, and the backward pass peaks with all of them at once.
/// </summary>
/// <remarks>
/// Call <see cref="Take"/> inside a dispose scope opened at the start of backward, <see cref="Release"/> on the
/// incoming gradient once it is used, and pass each returned gradient through <see cref="Return"/>: the engine copies
/// the returned tensors as soon as backward returns, but the wrappers would stay in the step's scope; they are disposed
/// at the start of the next fused backward on the same thread instead, and the last node's when the trainer's backward
/// returns, so at most one node's gradients outlive their use. The list is per thread because dispose scopes and the CPU engine's work are. A second backward through the same graph (<c>retain_graph</c>) is not supported by
/// functions that do this; nothing in the library does it.
/// </remarks>
internal static class SavedTensors
{
    /// <summary>The saved tensors (owned by the caller's current dispose scope); the node's own hold on them is dropped.</summary>
    internal static List<Tensor> Take(AutogradContext ctx)
    {
        DisposeReturned();
        List<Tensor> saved = ctx.get_saved_variables();
        ctx.Dispose(); // frees the native saved variables only; saved data (save_data) stays readable
        return saved;
    }

    /// <summary>Drops the wrapper TorchSharp made for the incoming gradient (it would otherwise live in the step's scope).</summary>
    internal static void Release(Tensor gradOutput) => gradOutput.Dispose();

    /// <summary>
    /// A gradient to return from backward: moved to the scope that was open when backward started (the step's, which
    /// bounds its life in any case) and disposed earlier, at the next <see cref="Take"/> or <see cref="DisposeReturned"/>.
    /// </summary>
    internal static Tensor Return(Tensor gradient)
    {
        gradient.MoveToOuterDisposeScope();
        (t_returned ??= new List<Tensor>()).Add(gradient);
        return gradient;
    }

    /// <summary>Disposes the gradients handed out by <see cref="Return"/> on this thread (the trainer calls it after each backward).</summary>
    internal static void DisposeReturned()
    {
        if (t_returned is null) return;
        foreach (Tensor t in t_returned) t.Dispose();
        t_returned.Clear();
    }

    [ThreadStatic]
    private static List<Tensor>? t_returned;
}

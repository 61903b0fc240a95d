using System.Collections.Generic;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace FineTuning.Models.Fused;

/// <summary>
/// Backward-side bookkeeping for TorchSharp 0.107 custom autograd functions, whose node keeps its saved tensors until the
/// whole graph is freed (PyTorch releases them as soon as the node's backward ran) and hands backward new tensor
/// wrappers that land in whatever dispose scope is open (the training step's): without this, every activation saved by
/// a custom node lives until the end of the step, and the backward pass peaks with all of them at once.
/// </summary>
/// <remarks>
/// Call <see cref="Take"/> inside a dispose scope opened at the start of backward, and <see cref="Release"/> on the
/// incoming gradient once it is used. A second backward through the same graph (<c>retain_graph</c>) is not supported by
/// functions that do this; nothing in the library does it.
/// </remarks>
internal static class SavedTensors
{
    /// <summary>The saved tensors (owned by the caller's current dispose scope); the node's own hold on them is dropped.</summary>
    internal static List<Tensor> Take(AutogradContext ctx)
    {
        List<Tensor> saved = ctx.get_saved_variables();
        ctx.Dispose(); // frees the native saved variables only; saved data (save_data) stays readable
        return saved;
    }

    /// <summary>Drops the wrapper TorchSharp made for the incoming gradient (it would otherwise live in the step's scope).</summary>
    internal static void Release(Tensor gradOutput) => gradOutput.Dispose();
}

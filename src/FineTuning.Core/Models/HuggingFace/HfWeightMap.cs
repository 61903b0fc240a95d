using System;
using TorchSharp;

namespace FineTuning.Models.HuggingFace;

/// <summary>
/// How one architecture's checkpoint tensor names map onto its module's state-dict keys.
/// </summary>
/// <param name="Model">The freshly created module that receives the weights.</param>
/// <param name="ToModelKey">Checkpoint name to state-dict key; null for a name the architecture knowingly skips
/// (a non-persistent buffer HF used to save, a pretraining head the config declares). Any other name that is no
/// key is reported as unexpected.</param>
/// <param name="IsTransposed">Whether a state-dict key is stored transposed in the file (GPT-2's Conv1D weights).</param>
/// <param name="ToCheckpointName">State-dict key to the name written on save.</param>
internal sealed record HfWeightMap(
    torch.nn.Module Model,
    Func<string, string?> ToModelKey,
    Func<string, bool> IsTransposed,
    Func<string, string> ToCheckpointName)
{
    /// <summary>
    /// For an output head the model ties to its embeddings (so has no key for it): the checkpoint names the head's
    /// tensor may be a copy of. Such a tensor is accepted only when it equals one of them byte for byte.
    /// </summary>
    internal Func<string, string[]?> TiedTo { get; init; } = _ => null;
}

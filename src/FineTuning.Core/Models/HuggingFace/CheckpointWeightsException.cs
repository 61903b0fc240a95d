using System;
using System.Collections.Generic;

namespace FineTuning.Models.HuggingFace;

/// <summary>
/// The tensors of a checkpoint do not fit the model its <c>config.json</c> describes: a tensor is missing,
/// unexpected, of the wrong shape or of an unusable dtype. <see cref="Problems"/> lists every problem found,
/// each naming the file and the tensor.
/// </summary>
public sealed class CheckpointWeightsException : FineTuningException
{
    /// <summary>Creates an exception with a default message and no problems.</summary>
    public CheckpointWeightsException()
        : this("The checkpoint's tensors do not fit the model.")
    {
    }

    /// <summary>Creates an exception with <paramref name="message"/> and no listed problems.</summary>
    /// <param name="message">What went wrong.</param>
    public CheckpointWeightsException(string message)
        : base(message)
    {
        Problems = Array.Empty<string>();
        TensorNames = Array.Empty<string>();
    }

    /// <summary>Creates an exception with <paramref name="message"/> caused by <paramref name="innerException"/>.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The exception that caused this one.</param>
    public CheckpointWeightsException(string message, Exception? innerException)
        : base(message, innerException)
    {
        Problems = Array.Empty<string>();
        TensorNames = Array.Empty<string>();
    }

    /// <summary>Creates an exception about the checkpoint in <paramref name="folder"/>.</summary>
    /// <param name="folder">The checkpoint folder.</param>
    /// <param name="problems">Every problem, each naming its file and tensor.</param>
    /// <param name="tensorNames">The tensors involved, by checkpoint (Hugging Face) name.</param>
    public CheckpointWeightsException(string folder, IReadOnlyList<string> problems, IReadOnlyList<string> tensorNames)
        : base(FormatMessage(folder, problems))
    {
        Folder = folder;
        Problems = problems;
        TensorNames = tensorNames;
    }

    /// <summary>The checkpoint folder, when known.</summary>
    public string? Folder { get; }

    /// <summary>Every problem found, one sentence each, naming the file and the tensor.</summary>
    public IReadOnlyList<string> Problems { get; }

    /// <summary>The checkpoint names of the tensors involved.</summary>
    public IReadOnlyList<string> TensorNames { get; }

    private static string FormatMessage(string folder, IReadOnlyList<string> problems)
    {
        ArgumentNullException.ThrowIfNull(problems);
        return $"The checkpoint in '{folder}' does not fit its model ({problems.Count} problem(s)):{Environment.NewLine} - "
            + string.Join(Environment.NewLine + " - ", problems);
    }
}

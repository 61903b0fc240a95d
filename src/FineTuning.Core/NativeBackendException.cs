using System;

namespace FineTuning;

/// <summary>
/// TorchSharp's native backend cannot be used: libtorch is missing (no native package such as <c>TorchSharp-cpu</c>
/// or <c>libtorch-cpu-linux-x64</c> is referenced), or the private patched copy of <c>libLibTorchSharp.so</c> that
/// <see cref="FineTuningRuntime"/> prepared failed to load. The message says which file and what to add.
/// </summary>
public sealed class NativeBackendException : FineTuningException
{
    /// <summary>Creates an exception with no message.</summary>
    public NativeBackendException()
    {
    }

    /// <summary>Creates an exception with a message.</summary>
    public NativeBackendException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with a message and the error that caused it.</summary>
    public NativeBackendException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

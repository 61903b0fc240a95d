using System;

namespace FineTuning.Models.Onnx;

/// <summary>An ONNX file is not a well-formed <c>ModelProto</c>, or lacks what the reader needs.</summary>
public sealed class OnnxFormatException : FineTuningException
{
    /// <summary>Creates an exception with a default message.</summary>
    public OnnxFormatException()
        : base("The ONNX model is malformed.")
    {
    }

    /// <summary>Creates an exception with <paramref name="message"/>.</summary>
    /// <param name="message">What is wrong with the file.</param>
    public OnnxFormatException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with <paramref name="message"/> caused by <paramref name="innerException"/>.</summary>
    /// <param name="message">What is wrong with the file.</param>
    /// <param name="innerException">The exception that caused this one.</param>
    public OnnxFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

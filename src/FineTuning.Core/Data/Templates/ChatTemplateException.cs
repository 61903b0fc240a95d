using System;

namespace FineTuning.Data.Templates;

/// <summary>A chat template cannot be chosen or cannot render a conversation.</summary>
public sealed class ChatTemplateException : FineTuningException
{
    /// <summary>Creates an exception with no message.</summary>
    public ChatTemplateException()
    {
    }

    /// <summary>Creates an exception with a message.</summary>
    /// <param name="message">What is wrong and what to do.</param>
    public ChatTemplateException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with a message and its cause.</summary>
    /// <param name="message">What is wrong and what to do.</param>
    /// <param name="innerException">The cause.</param>
    public ChatTemplateException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

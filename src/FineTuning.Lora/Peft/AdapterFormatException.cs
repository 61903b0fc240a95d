namespace FineTuning.Lora.Peft;

/// <summary>An adapter folder (adapter_config.json + adapter_model.safetensors) is invalid or does not fit the model.</summary>
public sealed class AdapterFormatException : Adapters.AdapterFileException
{
    /// <summary>Creates the exception.</summary>
    public AdapterFormatException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public AdapterFormatException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public AdapterFormatException(string message, System.Exception? innerException)
        : base(message, innerException)
    {
    }
}

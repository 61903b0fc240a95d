using System.Text.Json.Nodes;

namespace FineTuning.Adapters;

/// <summary>
/// Re-creates a saved <see cref="IPersistentAdapter"/> from its <c>adapter_config.json</c>: what PEFT's
/// <c>PeftConfig.from_pretrained</c> plus the tuner class do for one <c>peft_type</c>. <see cref="AdapterFiles.Load"/>
/// picks the format whose <see cref="PeftType"/> the file names.
/// </summary>
public interface IAdapterFormat
{
    /// <summary>The <c>peft_type</c> this format reads, e.g. <c>"IA3"</c>.</summary>
    string PeftType { get; }

    /// <summary>
    /// The adapter <paramref name="config"/> describes (the whole file's object, common keys included). Throw an
    /// <see cref="AdapterFileException"/> naming <paramref name="configPath"/> and the field for a missing or invalid field.
    /// </summary>
    IPersistentAdapter FromConfig(JsonObject config, string configPath);
}

using System;
using System.Text.Json.Nodes;
using FineTuning.Adapters;

namespace FineTuning.Lora.IA3;

/// <summary>Reads PEFT's IA3 <c>adapter_config.json</c> back into an <see cref="IA3Adapter"/>.</summary>
internal sealed class IA3Format : IAdapterFormat
{
    public string PeftType => IA3Adapter.PeftTypeName;

    public IPersistentAdapter FromConfig(JsonObject config, string configPath)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(configPath);
        if (config["fan_in_fan_out"] is JsonValue f && f.TryGetValue(out bool fanInFanOut) && fanInFanOut)
            throw new AdapterFileException(configPath, "\"fan_in_fan_out\": true (GPT-2 Conv1D layers in PEFT) is not supported yet; expected false.");
        if (config["modules_to_save"] is JsonArray { Count: > 0 })
            throw new AdapterFileException(configPath, "\"modules_to_save\" with IA3 is not supported yet; expected null.");
        JsonNode? feedforward = config["feedforward_modules"];
        return new IA3Adapter(new IA3Options
        {
            Targets = ModuleTargets.ReadFrom(config, configPath),
            FeedforwardModules = feedforward is null or JsonArray { Count: 0 }
                ? null
                : ModuleTargets.ReadFrom(config, configPath, "feedforward_modules", readExclusions: false),
        });
    }
}

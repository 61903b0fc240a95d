using System;
using System.Collections.Generic;
using System.Linq;

namespace FineTuning.Examples.QLoRAComparison;

/// <summary>How a configuration adapts the model.</summary>
internal enum Method
{
    /// <summary>Load model and data, build the model, evaluate it untrained: the process floor.</summary>
    LoadOnly,

    /// <summary>Every weight trained.</summary>
    Full,

    /// <summary>LoRA adapters over the frozen dense base.</summary>
    LoRA,

    /// <summary>The same LoRA over an NF4-quantized base (double-quantized scales).</summary>
    QLoRA,
}

/// <summary>One row of the comparison, run in its own process.</summary>
internal sealed record Configuration(string Name, Method Method, bool BFloat16, string Description)
{
    /// <summary>The reference row for the ratios.</summary>
    public const string Reference = "lora";

    public static IReadOnlyList<Configuration> All { get; } = new Configuration[]
    {
        new("load-only", Method.LoadOnly, false, "model and data loaded, model built and evaluated untrained; no training (the process floor)"),
        new("full", Method.Full, false, "full fine-tuning, fp32"),
        new("lora", Method.LoRA, false, "LoRA r=8 alpha=16, fp32"),
        new("lora-bf16", Method.LoRA, true, "the same LoRA with `ParameterDType = BFloat16` (base and adapters in bf16)"),
        new("qlora", Method.QLoRA, false, "NF4 base with double quantization + the same LoRA, fp32 compute"),
        new("qlora-bf16", Method.QLoRA, true, "the same QLoRA with `ParameterDType = BFloat16` (bf16 compute and adapters)"),
    };

    public static Configuration? Find(string name) => All.FirstOrDefault(c => string.Equals(c.Name, name, StringComparison.OrdinalIgnoreCase));

    public bool Trains => Method != Method.LoadOnly;
}

using System.Collections.Generic;

namespace FineTuning.Adapters;

/// <summary>What <see cref="AdapterFiles.Load"/> loaded.</summary>
public sealed class AdapterLoadResult
{
    internal AdapterLoadResult(IPersistentAdapter adapter, string peftType, string? baseModelNameOrPath, string? taskType, IReadOnlyList<string> warnings)
    {
        Adapter = adapter;
        PeftType = peftType;
        BaseModelNameOrPath = baseModelNameOrPath;
        TaskType = taskType;
        Warnings = warnings;
    }

    /// <summary>The adapter re-created from the config and applied to the model.</summary>
    public IPersistentAdapter Adapter { get; }

    /// <summary>The file's <c>peft_type</c>.</summary>
    public string PeftType { get; }

    /// <summary>The file's <c>base_model_name_or_path</c>, or null.</summary>
    public string? BaseModelNameOrPath { get; }

    /// <summary>The file's <c>task_type</c>, or null.</summary>
    public string? TaskType { get; }

    /// <summary>Things the caller should know, one sentence each (e.g. the adapter was trained on another base); also logged.</summary>
    public IReadOnlyList<string> Warnings { get; }
}

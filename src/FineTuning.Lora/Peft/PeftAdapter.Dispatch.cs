using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using FineTuning.Adapters;
using FineTuning.Lora.IA3;
using FineTuning.Models;
using Microsoft.Extensions.Logging;
using static TorchSharp.torch;

namespace FineTuning.Lora.Peft;

/// <summary>Dispatch on <c>peft_type</c> and the base model an adapter records.</summary>
public static partial class PeftAdapter
{
    /// <summary>The adapter formats this package reads besides LoRA (IA3), for <see cref="AdapterFiles.Load"/>.</summary>
    public static IReadOnlyList<IAdapterFormat> Formats { get; } = new[] { IA3Adapter.Format };

    /// <summary>
    /// Loads the adapter in <paramref name="directory"/> (LoRA, or any of <see cref="Formats"/>, chosen by its
    /// <c>peft_type</c>) onto <paramref name="model"/>, as the other overload does, and returns the warnings: when the
    /// folder's <c>base_model_name_or_path</c> names another base than the one <paramref name="model"/> was loaded from
    /// (<see cref="IPretrainedModel.NameOrPath"/>), the load still happens (the shapes decide) and the difference is logged
    /// to <paramref name="logger"/> as a warning and returned.
    /// </summary>
    /// <exception cref="AdapterFileException">The folder is invalid or does not fit the model (an <see cref="AdapterFormatException"/> for LoRA).</exception>
    public static IReadOnlyList<string> Load(nn.Module model, string directory, ILogger logger, string adapterName = "default")
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        ArgumentNullException.ThrowIfNull(logger);
        if (LoadOtherType(model, directory, adapterName, logger) is { } warnings) return warnings;
        Load(model, directory, adapterName);
        string? recorded = PeftAdapterConfig.Read(Path.Combine(directory, PeftAdapterConfig.FileName)).BaseModelNameOrPath;
        if (AdapterFiles.BaseModelMismatch(recorded, model) is not { } mismatch) return Array.Empty<string>();
        PeftLog.OtherBase(logger, directory, recorded!, ((IPretrainedModel)model).NameOrPath!);
        return new[] { mismatch };
    }

    /// <summary>Null for a LoRA folder (or one the LoRA path must report on); otherwise loads it through <see cref="AdapterFiles"/>.</summary>
    private static IReadOnlyList<string>? LoadOtherType(nn.Module model, string directory, string adapterName, ILogger? logger)
    {
        string peftType;
        try
        {
            peftType = AdapterFiles.ReadPeftType(directory);
        }
        catch (AdapterFileException)
        {
            return null; // missing or malformed: the LoRA path reports it as it always did
        }
        if (peftType == "LORA") return null;
        if (!Formats.Any(f => f.PeftType == peftType))
            throw new AdapterFormatException($"{Path.Combine(directory, AdapterFiles.ConfigFileName)}: peft_type is \"{peftType}\"; PeftAdapter.Load reads LORA, " +
                string.Join(", ", Formats.Select(f => f.PeftType)) + ". For an adapter of your own, call AdapterFiles.Load with its IAdapterFormat.");
        if (adapterName != "default")
            throw new NotSupportedException($"Loading a {peftType} adapter under the name \"{adapterName}\" is not supported yet; only \"default\".");
        return AdapterFiles.Load(model, directory, Formats, logger).Warnings;
    }

    /// <summary>The base model and task type to record: the caller's, else what the model reports.</summary>
    private static (string? BaseModelNameOrPath, string? TaskType) BaseModelOf(nn.Module model, string? baseModelNameOrPath, string? taskType) =>
        (baseModelNameOrPath ?? (model as IPretrainedModel)?.NameOrPath, taskType ?? (model as IPretrainedModel)?.TaskType);
}

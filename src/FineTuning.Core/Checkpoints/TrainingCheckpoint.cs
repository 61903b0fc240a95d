using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using FineTuning.Models.SafeTensors;
using FineTuning.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Checkpoints;

/// <summary>
/// A resumable training checkpoint: folder <c>checkpoint-&lt;step&gt;</c> (as Hugging Face's Trainer names it) holding
/// <c>trainer_state.json</c> (step, history), <c>model.safetensors</c> (the trainable parameters by state-dict
/// name) and <c>optimizer.safetensors</c> (moments, master weights, step count). Written to a temporary folder and
/// renamed, so a crash never leaves a half-written checkpoint under the final name.
/// </summary>
public static class TrainingCheckpoint
{
    /// <summary>Prefix of checkpoint folder names.</summary>
    public const string FolderPrefix = "checkpoint-";

    /// <summary>The state file name.</summary>
    public const string StateFileName = "trainer_state.json";

    private const string ModelFileName = "model.safetensors";
    private const string OptimizerFileName = "optimizer.safetensors";
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>
    /// The newest checkpoint in <paramref name="path"/>: the folder itself when it holds a trainer_state.json,
    /// else its <c>checkpoint-N</c> sub-folder with the largest N; null when there is none.
    /// </summary>
    public static string? Latest(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (File.Exists(Path.Combine(path, StateFileName))) return path;
        if (!Directory.Exists(path)) return null;
        return Directory.GetDirectories(path, FolderPrefix + "*")
            .Select(d => (Dir: d, Step: long.TryParse(Path.GetFileName(d)[FolderPrefix.Length..], NumberStyles.None, CultureInfo.InvariantCulture, out long s) ? s : -1))
            .Where(d => d.Step >= 0 && File.Exists(Path.Combine(d.Dir, StateFileName)))
            .OrderByDescending(d => d.Step)
            .Select(d => d.Dir)
            .FirstOrDefault();
    }

    internal static string Save(string directory, TrainerState state, IReadOnlyList<TrainableParameter> parameters, IOptimizerState optimizer, int keep)
    {
        string final = Path.Combine(directory, FolderPrefix + state.GlobalStep.ToString(CultureInfo.InvariantCulture));
        string temp = final + ".tmp";
        if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
        Directory.CreateDirectory(temp);
        using (var scope = NewDisposeScope())
        {
            SafeTensorsWriter.Write(Path.Combine(temp, ModelFileName), parameters.ToDictionary(p => p.Name, p => p.Parameter.detach().cpu(), StringComparer.Ordinal));
            SafeTensorsWriter.Write(Path.Combine(temp, OptimizerFileName), optimizer.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().cpu(), StringComparer.Ordinal));
        }
        File.WriteAllText(Path.Combine(temp, StateFileName), JsonSerializer.Serialize(state, Json));
        if (Directory.Exists(final)) Directory.Delete(final, recursive: true);
        Directory.Move(temp, final);
        foreach (string old in Directory.GetDirectories(directory, FolderPrefix + "*")
                     .Where(d => !d.EndsWith(".tmp", StringComparison.Ordinal) && d != final)
                     .Select(d => (Dir: d, Step: long.TryParse(Path.GetFileName(d)[FolderPrefix.Length..], NumberStyles.None, CultureInfo.InvariantCulture, out long s) ? s : -1))
                     .Where(d => d.Step >= 0)
                     .OrderByDescending(d => d.Step)
                     .Skip(Math.Max(0, keep - 1))
                     .Select(d => d.Dir))
        {
            Directory.Delete(old, recursive: true);
        }
        return final;
    }

    internal static TrainerState Load(string folder, IReadOnlyList<TrainableParameter> parameters, IOptimizerState optimizer)
    {
        string statePath = Path.Combine(folder, StateFileName);
        if (!File.Exists(statePath)) throw new CheckpointException($"{statePath} does not exist; not a checkpoint folder.");
        TrainerState state = TrainerState.Read(statePath);
        using var scope = NewDisposeScope();
        using SafeTensorsReader model = SafeTensorsReader.Open(Path.Combine(folder, ModelFileName));
        string[] names = parameters.Select(p => p.Name).ToArray();
        string[] missing = names.Where(n => !model.Contains(n)).ToArray();
        string[] unexpected = model.Tensors.Select(t => t.Name).Where(n => !names.Contains(n, StringComparer.Ordinal)).ToArray();
        if (missing.Length > 0 || unexpected.Length > 0)
            throw new CheckpointException($"{folder}: its trainable parameters differ from this run's (missing [{string.Join(", ", missing.Take(10))}], unexpected [{string.Join(", ", unexpected.Take(10))}]); resume with the same model, adapters and options.");
        var values = new List<(TrainableParameter P, Tensor V)>();
        foreach (TrainableParameter p in parameters)
        {
            Tensor v = model.Load(p.Name);
            if (!v.shape.SequenceEqual(p.Parameter.shape))
                throw new CheckpointException($"{folder}: parameter \"{p.Name}\" has shape [{string.Join(", ", v.shape)}]; the model has [{string.Join(", ", p.Parameter.shape)}].");
            values.Add((p, v));
        }
        using SafeTensorsReader optimizerFile = SafeTensorsReader.Open(Path.Combine(folder, OptimizerFileName));
        optimizer.LoadStateDict(optimizerFile.LoadAll());
        using (no_grad())
        {
            foreach ((TrainableParameter p, Tensor v) in values) p.Parameter.copy_(v);
        }
        return state;
    }
}

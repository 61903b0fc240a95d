using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using FineTuning.IO;
using FineTuning.Models.SafeTensors;
using FineTuning.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Checkpoints;

/// <summary>
/// A resumable training checkpoint: folder <c>checkpoint-&lt;step&gt;</c> (as Hugging Face's Trainer names it) holding
/// <c>trainer_state.json</c> (step, history), <c>model.safetensors</c> (the trainable parameters by state-dict
/// name) and <c>optimizer.safetensors</c> (moments, master weights, step count). Written to a hidden temporary folder
/// and renamed (docs/reliability.md): the rename is the commit point, so a folder named <c>checkpoint-N</c> is
/// always complete, and a crash or a full disk never leaves a half-written one under that name.
/// </summary>
public static class TrainingCheckpoint
{
    /// <summary>Prefix of checkpoint folder names.</summary>
    public const string FolderPrefix = "checkpoint-";

    /// <summary>The state file name.</summary>
    public const string StateFileName = "trainer_state.json";

    private const string ModelFileName = "model.safetensors";
    private const string OptimizerFileName = "optimizer.safetensors";
    private static readonly JsonSerializerOptions Json = FineTuning.Json.JsonReflection.Options(indented: true);

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
            .Select(d => (Dir: d, Step: StepOf(d)))
            .Where(d => d.Step >= 0 && File.Exists(Path.Combine(d.Dir, StateFileName)))
            .OrderByDescending(d => d.Step)
            .Select(d => d.Dir)
            .FirstOrDefault();
    }

    internal static string Save(string directory, TrainerState state, IReadOnlyList<TrainableParameter> parameters, IOptimizerState optimizer, int keep)
    {
        string final = Path.Combine(directory, FolderPrefix + state.GlobalStep.ToString(CultureInfo.InvariantCulture));
        // Temporary folders of saves that a killed process left behind (never read as checkpoints) go first.
        AtomicFolder.RemoveStale(directory, IsCheckpointName);
        AtomicFolder.Write(final, temp =>
        {
            using (var scope = NewDisposeScope())
            {
                SafeTensorsWriter.Write(Path.Combine(temp, ModelFileName), parameters.ToDictionary(p => p.Name, p => p.Parameter.detach().cpu(), StringComparer.Ordinal));
                SafeTensorsWriter.Write(Path.Combine(temp, OptimizerFileName), optimizer.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().cpu(), StringComparer.Ordinal));
            }
            File.WriteAllText(Path.Combine(temp, StateFileName), JsonSerializer.Serialize(state, Json));
        });
        foreach (string old in Directory.GetDirectories(directory, FolderPrefix + "*")
                     .Where(d => d != final)
                     .Select(d => (Dir: d, Step: StepOf(d)))
                     .Where(d => d.Step >= 0)
                     .OrderByDescending(d => d.Step)
                     .Skip(Math.Max(0, keep - 1))
                     .Select(d => d.Dir))
        {
            AtomicFolder.Delete(old); // renamed away first: a crash never leaves a half-deleted checkpoint-N
        }
        return final;
    }

    /// <summary>
    /// Restores a checkpoint into the run: everything is read and checked first (the state's seed and step against
    /// <paramref name="seed"/> and <paramref name="totalSteps"/>, every tensor's name, shape and dtype, the optimizer
    /// state), and only then copied, so a checkpoint that does not fit changes nothing.
    /// </summary>
    internal static TrainerState Load(string folder, IReadOnlyList<TrainableParameter> parameters, IOptimizerState optimizer, int seed, long totalSteps)
    {
        TrainerState state = ReadState(folder, seed, totalSteps);
        using var scope = NewDisposeScope();
        string modelPath = Path.Combine(folder, ModelFileName);
        Dictionary<string, Tensor> model = ReadTensors(modelPath);
        string[] names = parameters.Select(p => p.Name).ToArray();
        string[] missing = names.Where(n => !model.ContainsKey(n)).ToArray();
        string[] unexpected = model.Keys.Where(n => !names.Contains(n, StringComparer.Ordinal)).ToArray();
        if (missing.Length > 0 || unexpected.Length > 0)
            throw new CheckpointException($"{modelPath}: its trainable parameters differ from this run's (missing [{string.Join(", ", missing.Take(10))}], unexpected [{string.Join(", ", unexpected.Take(10))}]); resume with the same model, adapters and options.");
        foreach (TrainableParameter p in parameters)
        {
            Tensor v = model[p.Name];
            if (!v.shape.SequenceEqual(p.Parameter.shape))
                throw new CheckpointException($"{modelPath}: parameter \"{p.Name}\" has shape [{string.Join(", ", v.shape)}]; the model has [{string.Join(", ", p.Parameter.shape)}].");
            if (v.dtype != p.Parameter.dtype)
                throw new CheckpointException($"{modelPath}: parameter \"{p.Name}\" is {v.dtype}; the model's is {p.Parameter.dtype} (resume with the same ParameterDType).");
        }
        string optimizerPath = Path.Combine(folder, OptimizerFileName);
        Dictionary<string, Tensor> optimizerState = ReadTensors(optimizerPath);
        try
        {
            optimizer.LoadStateDict(optimizerState); // checks everything before it changes anything
        }
        catch (CheckpointException e)
        {
            throw new CheckpointException($"{optimizerPath}: {e.Message}", e);
        }
        using (no_grad())
        {
            foreach (TrainableParameter p in parameters) p.Parameter.copy_(model[p.Name]);
        }
        return state;
    }

    /// <summary>Reads trainer_state.json and checks that this run can continue from it.</summary>
    internal static TrainerState ReadState(string folder, int seed, long totalSteps)
    {
        string statePath = Path.Combine(folder, StateFileName);
        if (!File.Exists(statePath)) throw new CheckpointException($"{statePath} does not exist; not a checkpoint folder.");
        TrainerState state = TrainerState.Read(statePath);
        if (state.Seed != seed)
            throw new CheckpointException($"{statePath}: \"seed\" is {state.Seed}; this run has Seed {seed}, so its data order would differ.");
        if (state.GlobalStep > totalSteps)
            throw new CheckpointException($"{statePath}: \"global_step\" is {state.GlobalStep}, beyond this run's {totalSteps} steps.");
        return state;
    }

    private static Dictionary<string, Tensor> ReadTensors(string path)
    {
        if (!File.Exists(path))
            throw new CheckpointException($"{path} does not exist; a complete checkpoint holds {StateFileName}, {ModelFileName} and {OptimizerFileName}.");
        try
        {
            using SafeTensorsReader reader = SafeTensorsReader.Open(path);
            return reader.LoadAll();
        }
        catch (SafeTensorsFormatException e)
        {
            throw new CheckpointException(e.Message, e);
        }
        catch (IOException e)
        {
            throw new CheckpointException($"{path}: {e.Message}", e);
        }
    }

    private static bool IsCheckpointName(string name) => StepOf(name) >= 0;

    private static long StepOf(string path)
    {
        string name = Path.GetFileName(path);
        return name.StartsWith(FolderPrefix, StringComparison.Ordinal) &&
               long.TryParse(name.AsSpan(FolderPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out long step) ? step : -1;
    }
}

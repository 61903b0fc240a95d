using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using FineTuning.Checkpoints;
using Microsoft.Extensions.Logging;

namespace FineTuning.Training;

/// <summary>The trainer's side of checkpoints: finding the one to resume from, restoring a run from it, saving one.</summary>
internal sealed class RunCheckpoints(TrainingOptions options, ILogger logger)
{
    /// <summary>The checkpoint folder <paramref name="resumeFrom"/> names: itself, or the newest <c>checkpoint-N</c> in it.</summary>
    /// <exception cref="CheckpointException">There is none.</exception>
    public static string Locate(string resumeFrom) =>
        TrainingCheckpoint.Latest(resumeFrom)
        ?? throw new CheckpointException($"No checkpoint found at {resumeFrom} (expected a trainer_state.json there or in a checkpoint-N sub-folder).");

    /// <summary>Loads the parameters and optimizer state and puts the saved history into <paramref name="run"/>; returns the step to continue after.</summary>
    public long Resume(string folder, TrainingRun run, List<TrainableParameter> trainable, long totalSteps)
    {
        TrainerState state = TrainingCheckpoint.Load(folder, trainable, run.Optimizer, options.Seed, totalSteps);
        run.HistoryList.AddRange(state.LogHistory);
        run.EvaluationList.AddRange(state.Evaluations);
        run.SkippedSteps = state.SkippedSteps;
        TrainerLog.Resumed(logger, folder, state.GlobalStep);
        return state.GlobalStep;
    }

    /// <summary>Saves the run at <paramref name="step"/> into <see cref="TrainingOptions.CheckpointDirectory"/>; nothing without one.</summary>
    /// <exception cref="CheckpointException">The checkpoint could not be written; it carries the run.</exception>
    public void Save(TrainingRun run, long step, List<TrainableParameter> trainable, long totalSteps)
    {
        if (options.CheckpointDirectory is not { } directory) return;
        var state = new TrainerState(step, totalSteps, options.Seed, run.SkippedSteps, run.HistoryList.ToArray(), run.EvaluationList.ToArray());
        string folder;
        try
        {
            folder = TrainingCheckpoint.Save(directory, state, trainable, run.Optimizer, options.KeepCheckpoints);
        }
        catch (Exception e) when (e is IO.SaveException or IOException or UnauthorizedAccessException)
        {
            string target = Path.GetFullPath(Path.Combine(directory, TrainingCheckpoint.FolderPrefix + step.ToString(CultureInfo.InvariantCulture)));
            throw new CheckpointException(target, run, e);
        }
        TrainerLog.CheckpointSaved(logger, folder, step);
    }
}

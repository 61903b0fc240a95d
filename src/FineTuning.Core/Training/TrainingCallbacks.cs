using System;
using System.Collections.Generic;
using System.Linq;

namespace FineTuning.Training;

/// <summary>
/// Delivers a run's new steps, evaluations and warnings to the callbacks, in step order. It reads them from the run's
/// lists (whoever appended them), so evaluation code that adds metrics or warnings needs no knowledge of callbacks.
/// Disposes the callbacks it created itself (the log writers of <see cref="TrainingOptions.LoggingDirectory"/>, the
/// default meter); callbacks given by the user stay theirs.
/// </summary>
internal sealed class TrainingCallbacks : IDisposable
{
    private readonly IReadOnlyList<ITrainingCallback> _callbacks;
    private readonly List<IDisposable> _owned = new();
    private int _steps, _evaluations, _warnings;

    public TrainingCallbacks(IReadOnlyList<ITrainingCallback> userCallbacks, TrainingOptions options)
    {
        var all = new List<ITrainingCallback>();
        try
        {
            if (options.LoggingDirectory is not null)
            {
                Own(all, new Monitoring.JsonlMetricsWriter(System.IO.Path.Combine(options.LoggingDirectory, Monitoring.JsonlMetricsWriter.DefaultFileName)));
                Own(all, Monitoring.TensorBoardEventWriter.Create(options.LoggingDirectory));
            }
            if (!userCallbacks.Any(c => c is Monitoring.TrainingMeter)) Own(all, new Monitoring.TrainingMeter());
        }
        catch
        {
            Dispose(); // a log folder that cannot be written: close what was opened, then fail the run
            throw;
        }
        all.AddRange(userCallbacks);
        _callbacks = all;
    }

    /// <summary>The run starts: what it already holds (a resumed history) is not delivered.</summary>
    public void Begin(TrainingRun run)
    {
        (_steps, _evaluations, _warnings) = (run.History.Count, run.Evaluations.Count, run.Warnings.Count);
        foreach (ITrainingCallback callback in _callbacks) callback.OnTrainBegin(run);
    }

    /// <summary>Delivers what was appended to the run since the last call, ordered by step (a step, then its evaluations, then its warnings).</summary>
    public void Deliver(TrainingRun run)
    {
        var items = new List<(long Step, int Kind, int Index)>();
        for (; _steps < run.History.Count; _steps++) items.Add((run.History[_steps].Step, 0, _steps));
        for (; _evaluations < run.Evaluations.Count; _evaluations++) items.Add((run.Evaluations[_evaluations].Step, 1, _evaluations));
        for (; _warnings < run.Warnings.Count; _warnings++) items.Add((run.Warnings[_warnings].Step, 2, _warnings));
        foreach ((long _, int kind, int index) in items.OrderBy(i => i.Step).ThenBy(i => i.Kind).ThenBy(i => i.Index))
        {
            foreach (ITrainingCallback callback in _callbacks)
            {
                switch (kind)
                {
                    case 0: callback.OnStep(run, run.History[index]); break;
                    case 1: callback.OnEvaluate(run, run.Evaluations[index]); break;
                    default: callback.OnWarning(run, run.Warnings[index]); break;
                }
            }
        }
    }

    /// <summary>
    /// The run ended without an exception: runs the end-of-run checks (<see cref="IRunEndCheck"/>), delivers what is left,
    /// then <see cref="ITrainingCallback.OnTrainEnd"/>.
    /// </summary>
    public void End(TrainingRun run)
    {
        foreach (IRunEndCheck check in _callbacks.OfType<IRunEndCheck>()) check.Check(run);
        Deliver(run);
        foreach (ITrainingCallback callback in _callbacks) callback.OnTrainEnd(run);
    }

    public void Dispose()
    {
        foreach (IDisposable owned in _owned) owned.Dispose();
        _owned.Clear();
    }

    private void Own<T>(List<ITrainingCallback> all, T callback) where T : ITrainingCallback, IDisposable
    {
        _owned.Add(callback);
        all.Add(callback);
    }
}

using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading;
using FineTuning.Checkpoints;
using FineTuning.FaultChild;
using FineTuning.Lora.Peft;
using FineTuning.Testing;
using FineTuning.Training;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace FineTuning.Lora.Tests.Faults;

/// <summary>
/// kill -9 of a process while it saves, at seeded random moments: after every kill the newest complete save loads,
/// every save the process reported done survived, and nothing half-written is taken as a save. A bounded number of
/// kills (each costs a process start, about 1.5 s).
/// </summary>
public sealed class KillDuringSaveTests : IDisposable
{
    private const int Kills = 8;
    private readonly TempDirectory _dir = new("kill");
    private readonly ITestOutputHelper _output;
    private CancellationTokenSource _stop = new();

    public KillDuringSaveTests(ITestOutputHelper output) => _output = output;

    public void Dispose()
    {
        _stop.Dispose();
        _dir.Dispose();
    }

    private static long StepOf(string folder) => long.Parse(Path.GetFileName(folder).AsSpan(TrainingCheckpoint.FolderPrefix.Length), provider: CultureInfo.InvariantCulture);

    private static string[] Temporaries(string dir) =>
        Directory.GetDirectories(dir).Select(d => Path.GetFileName(d)!).Where(n => n.StartsWith('.')).ToArray();

    [Fact]
    [Trait("Category", "Slow")]
    public void KillWhileCheckpointing_NewestCompleteCheckpointLoadsAndResumesToTheUninterruptedRunBitForBit()
    {
        var random = new Random(20261206);
        string dir = Path.Combine(_dir.Path, "run");
        long lastSaved = 0;
        int midSave = 0;
        for (int kill = 0; kill < Kills; kill++)
        {
            int delay = random.Next(50, 1500);
            KilledChild child = KilledChild.Run(TimeSpan.FromMilliseconds(delay), "checkpoint", dir);
            Assert.False(child.ExitedByItself, "the run ended before the kill; make it longer");
            lastSaved = child.Saved.DefaultIfEmpty(lastSaved).Max();
            if (!Directory.Exists(dir))
            {
                Assert.Equal(0, lastSaved);
                continue; // killed before its first save reached the disk
            }
            string[] temporaries = Temporaries(dir);
            if (temporaries.Length > 0) midSave++;

            // Only complete checkpoints carry the name, each one resumes, and the newest holds every reported save.
            string[] checkpoints = Directory.GetDirectories(dir, TrainingCheckpoint.FolderPrefix + "*");
            // KeepCheckpoints = 2; a kill between a save and the rotation that follows it leaves one more.
            Assert.True(checkpoints.Length <= 3, $"{checkpoints.Length} checkpoints after kill {kill}");
            if (checkpoints.Length == 0)
            {
                Assert.Equal(0, lastSaved);
                continue;
            }
            foreach (string folder in checkpoints)
            {
                using Mlp model = FaultScenarios.CheckpointModel();
                using TrainingRun loaded = FaultScenarios.CheckpointRun(model, null, maxSteps: (int)StepOf(folder)).ResumeFrom(folder).Train(FaultScenarios.CheckpointData());
                Assert.Equal(StepOf(folder), loaded.StepsCompleted);
            }
            string latest = TrainingCheckpoint.Latest(dir)!;
            Assert.True(StepOf(latest) >= lastSaved, $"checkpoint {lastSaved} was reported saved, but the newest is {Path.GetFileName(latest)}");
            _output.WriteLine($"kill {kill}: after {delay} ms, newest {Path.GetFileName(latest)}, reported saved {lastSaved} ({child.Saved.Count()} by this process), temporary folders [{string.Join(", ", temporaries)}]");
        }
        _output.WriteLine($"{Kills} kills, {midSave} left a temporary folder (killed inside a save)");

        // Resuming from what the kills left gives the uninterrupted run's weights, bit for bit (compared a few steps
        // past the newest checkpoint, both runs stopped there by cancellation so that neither trains all 3000 steps).
        long target = StepOf(TrainingCheckpoint.Latest(dir)!) + 3;
        using Mlp straightModel = FaultScenarios.CheckpointModel();
        using TrainingRun straight = StopAt(FaultScenarios.CheckpointRun(straightModel, null), target).Train(FaultScenarios.CheckpointData(), _stop.Token);
        _stop.Dispose();
        _stop = new CancellationTokenSource();
        using Mlp resumedModel = FaultScenarios.CheckpointModel();
        using TrainingRun resumed = StopAt(FaultScenarios.CheckpointRun(resumedModel, null).ResumeFrom(dir), target).Train(FaultScenarios.CheckpointData(), _stop.Token);
        Assert.Equal(target, straight.StepsCompleted);
        Assert.Equal(target, resumed.StepsCompleted);
        Assert.Equal(straight.History.Select(h => h.Loss), resumed.History.Select(h => h.Loss));
        foreach (((string name, var p), (_, var q)) in straightModel.named_parameters().Zip(resumedModel.named_parameters()))
            Assert.True(p.equal(q).all().item<bool>(), $"{name} differs from the uninterrupted run");
    }

    private FineTuner<LabeledVector> StopAt(FineTuner<LabeledVector> run, long step) =>
        run.WithProgress(new StepProgress(p => { if (p.Step == step) _stop.Cancel(); }));

    /// <summary>Reports synchronously (Progress&lt;T&gt; posts to the thread pool, too late to stop at a step).</summary>
    private sealed class StepProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void KillWhileSavingAnAdapter_TheFolderAlwaysHoldsOneWholeSaveAndTheNewestReported()
    {
        var random = new Random(61206);
        string dir = Path.Combine(_dir.Path, "adapter");
        long lastSaved = 0;
        int midSave = 0;
        for (int kill = 0; kill < Kills; kill++)
        {
            int delay = random.Next(50, 1500);
            long first = (kill + 1) * 100_000L; // each process's saves are numbered above the previous one's
            KilledChild child = KilledChild.Run(TimeSpan.FromMilliseconds(delay), "adapter", dir, first.ToString(CultureInfo.InvariantCulture));
            lastSaved = child.Saved.DefaultIfEmpty(lastSaved).Max();
            string[] temporaries = Temporaries(_dir.Path);
            if (temporaries.Length > 0) midSave++;
            if (lastSaved == 0 && !Directory.Exists(dir)) continue; // killed before its first save completed

            // The config and the weights come from the same save: every weight holds that save's value.
            string generation = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, PeftAdapterConfig.FileName))).RootElement.GetProperty("base_model_name_or_path").GetString()!;
            long n = long.Parse(generation.AsSpan("gen-".Length), provider: CultureInfo.InvariantCulture);
            Assert.True(n >= lastSaved, $"save {lastSaved} was reported done, but the folder holds save {n}");
            using nn.Module<Tensor, Tensor> fresh = AdapterScenario.Plain();
            PeftAdapter.Load(fresh, dir);
            foreach ((string name, var p) in fresh.named_parameters().Where(p => p.name.Contains("lora_", StringComparison.Ordinal) || p.name.StartsWith("fc2.", StringComparison.Ordinal)))
                Assert.True(p.eq(AdapterScenario.Value(n)).all().item<bool>(), $"{name} is not from save {n}: a mixed folder");
            _output.WriteLine($"kill {kill}: after {delay} ms, folder holds save {n}, reported saved {lastSaved} ({child.Saved.Count()} by this process), temporary folders [{string.Join(", ", temporaries)}]");
        }
        _output.WriteLine($"{Kills} kills, {midSave} left a temporary folder (killed inside a save)");

        // The next save removes what the kills left.
        using nn.Module<Tensor, Tensor> model = AdapterScenario.Model();
        AdapterScenario.Fill(model, 1);
        PeftAdapter.Save(model, dir);
        Assert.Equal(new[] { "adapter" }, Directory.GetFileSystemEntries(_dir.Path).Select(Path.GetFileName));
    }
}

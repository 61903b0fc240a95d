using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;

namespace FineTuning.Examples.QLoRAComparison;

/// <summary>The markdown report: one table and one ratio table per task, how it was measured, the machine.</summary>
internal static class Report
{
    private const double MiB = 1024.0 * 1024.0;

    public static string Markdown(IReadOnlyList<(IComparisonTask Task, IReadOnlyList<ConfigResult> Results)> sections,
        IReadOnlyList<Failure> failures, Machine machine, bool smoke, string commandLine)
    {
        var md = new StringBuilder();
        md.AppendLine("# QLoRA comparison: quality, memory and step time per configuration");
        md.AppendLine();
        if (smoke)
        {
            md.AppendLine($"**Smoke run** (`--smoke`): {Smoke.Steps} optimizer steps per configuration. It checks that every configuration runs; its numbers mean nothing.");
            md.AppendLine();
        }
        md.AppendLine("Produced by `examples/05-QLoRAComparison`. Every configuration ran in its own process (started by the program itself), " +
                      "on the same model, data and seeds, so that its peak memory is its own.");
        md.AppendLine();
        md.AppendLine("```bash");
        md.AppendLine(commandLine);
        md.AppendLine("```");
        md.AppendLine();
        md.AppendLine("| configuration | what |");
        md.AppendLine("| --- | --- |");
        foreach (Configuration c in Configuration.All) md.AppendLine($"| `{c.Name}` | {c.Description} |");
        md.AppendLine();

        foreach ((IComparisonTask task, IReadOnlyList<ConfigResult> results) in sections) Section(md, task, results);

        if (failures.Count > 0)
        {
            md.AppendLine("## Failed");
            md.AppendLine();
            foreach (Failure f in failures) md.AppendLine($"- `{f.Task}/{f.Config}`: {Cell(f.Reason)}");
            md.AppendLine();
        }

        md.AppendLine("## How it was measured");
        md.AppendLine();
        md.AppendLine("- **weight bytes/param**: bytes of the final model's parameters and buffers (quantized codes and scales are buffers; " +
                      "LoRA matrices are parameters) divided by the pretrained model's parameter count; fp32 = 4.00.");
        md.AppendLine("- **peak RSS**: `VmHWM` from `/proc/self/status`, read by the configuration's own process at its very end (after training " +
                      "and evaluation): the .NET runtime, libtorch and everything the configuration allocated. `load-only` is the floor: " +
                      "the same process with model and data loaded and the model evaluated, but no training. The peak of each " +
                      "phase (load: runtime, model, data; train: the `Train` call; evaluate: the quality measure) is read the same " +
                      "way, resetting the high-water mark between phases (`/proc/self/clear_refs`); the overall peak is their maximum.");
        md.AppendLine($"- **median step**: median wall time of the optimizer steps recorded by the trainer (`TrainingRun.History[i].Duration`), " +
                      $"leaving out the first {StepTimes.WarmupSteps} steps (optimizer state allocation, warm-up).");
        md.AppendLine("- **train time**: `TrainingRun.Elapsed`, the whole `Train` call (adapter setup, quantization, every step, validation passes).");
        md.AppendLine("- The machine has 2 cores and libtorch runs 2 threads: any other process on the machine slows a step down a lot " +
                      "(10x and more has been seen), so compare ratios from one run, check the load averages below, and repeat before concluding.");
        md.AppendLine();

        md.AppendLine("## Machine");
        md.AppendLine();
        md.AppendLine("| | |");
        md.AppendLine("| --- | --- |");
        md.AppendLine($"| CPU (`/proc/cpuinfo` model name) | {Cell(machine.Cpu)} |");
        md.AppendLine($"| CPU flags (fp32/bf16 kernels) | {Cell(machine.CpuFlags)} |");
        md.AppendLine($"| cores | {machine.Cores} (libtorch threads: {Math.Min(2, machine.Cores)}) |");
        md.AppendLine($"| memory | {machine.Memory} |");
        md.AppendLine($"| OS | {Cell(machine.OS)}, {Cell(machine.Kernel)} |");
        md.AppendLine($"| .NET | {Cell(machine.DotNet)} |");
        md.AppendLine($"| TorchSharp | {Cell(machine.TorchSharp)} |");
        md.AppendLine($"| date (UTC) | {machine.StartedUtc:yyyy-MM-dd HH:mm} to {machine.FinishedUtc:HH:mm} |");
        md.AppendLine($"| load average (1 / 5 / 15 min) | {machine.LoadAtStart} at the start, {machine.LoadAtEnd} at the end |");
        return md.ToString();
    }

    private static void Section(StringBuilder md, IComparisonTask task, IReadOnlyList<ConfigResult> results)
    {
        md.AppendLine($"## {task.Heading}");
        md.AppendLine();
        md.AppendLine(task.Setup);
        md.AppendLine();
        md.AppendLine("| configuration | quality | weight bytes/param | peak RSS (MiB) | median step (ms) | train time (s) |");
        md.AppendLine("| --- | --- | ---: | ---: | ---: | ---: |");
        foreach (ConfigResult r in results)
        {
            md.AppendLine(r.Error is not null
                ? $"| `{r.Config}` | **failed**: {Cell(r.Error)} | - | - | - | - |"
                : $"| `{r.Config}` | {r.Quality} | {r.WeightBytesPerParameter:F2} | {Rss(r.PeakRssBytes)} | {Number(r.MedianStepMs, "F0")} | {Number(r.TrainSeconds, "F0")} |");
        }
        md.AppendLine();

        ConfigResult? reference = results.FirstOrDefault(r => r.Config == Configuration.Reference && r.Error is null);
        ConfigResult? floor = results.FirstOrDefault(r => r.Config == "load-only" && r.Error is null);
        if (reference is not null)
        {
            md.AppendLine($"Against `{Configuration.Reference}` (fp32 LoRA) in the same run:");
            md.AppendLine();
            md.AppendLine($"| configuration | median step / {Configuration.Reference} | peak RSS / {Configuration.Reference} | peak RSS above load-only (MiB) | peak RSS in load / train / evaluate (MiB) |");
            md.AppendLine("| --- | ---: | ---: | ---: | ---: |");
            foreach (ConfigResult r in results.Where(r => r.Error is null))
            {
                string step = Ratio(r.MedianStepMs, reference.MedianStepMs);
                string rss = Ratio(r.PeakRssBytes, reference.PeakRssBytes);
                string above = floor is null || r == floor || r.PeakRssBytes is null || floor.PeakRssBytes is null
                    ? "-" : $"{(r.PeakRssBytes.Value - floor.PeakRssBytes.Value) / MiB:F0}";
                md.AppendLine($"| `{r.Config}` | {step} | {rss} | {above} | {Phases(r)} |");
            }
            md.AppendLine();
        }

        ConfigResult? trained = results.FirstOrDefault(r => r.Error is null && r.Steps > 0);
        md.AppendLine($"- quality: {task.QualityNote}.");
        if (trained is not null)
            md.AppendLine($"- {trained.Steps} optimizer steps per training configuration; the median step is taken over the last {trained.MeasuredSteps}. " +
                          $"Pretrained parameters: {trained.PretrainedParameters:N0}.");
        foreach (string note in task.Notes) md.AppendLine($"- {note}");
        md.AppendLine();
    }

    private static string Phases(ConfigResult r) => r.PhasePeakBytes is null
        ? "n/a"
        : string.Join(" / ", PhaseNames.All.Select(p => r.PhasePeakBytes.TryGetValue(p, out long b) ? $"{b / MiB:F0}" : "-"));

    private static string Rss(long? bytes) => bytes is null ? "n/a" : $"{bytes.Value / MiB:F0}";

    private static string Number(double? value, string format) => value is null ? "-" : value.Value.ToString(format, System.Globalization.CultureInfo.InvariantCulture);

    private static string Ratio(double? value, double? reference) =>
        value is null || reference is null || reference.Value == 0 ? "-" : $"{value.Value / reference.Value:F2}x";

    private static string Cell(string text) => text.Replace("\r", " ", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal).Replace("|", "\\|", StringComparison.Ordinal);
}

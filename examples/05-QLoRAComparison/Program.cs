// QLoRA comparison: on the same model, data and seeds, train each configuration (full fine-tuning, LoRA, LoRA in
// bf16, QLoRA, QLoRA in bf16, and a load-only floor) and report quality, weight bytes per parameter, PEAK PROCESS
// MEMORY, median step time and training time. Peak memory is a per-process high-water mark, so the program starts
// itself once per configuration (`--task T --config C` runs one configuration and prints a RESULT line) and prints
// the collected markdown tables.
//
// Usage: dotnet run --project examples/05-QLoRAComparison -c Release -- [--task minilm|stories|all] [--out file.md] [--smoke]
//   --task   minilm: the quick start's spam filter (all-MiniLM-L6-v2); stories: the instruction example (stories260K,
//            needs FINETUNING_MODELS_DIR); all (default): both
//   --out    also write the report (tables, how it was measured, machine) to a markdown file
//   --smoke  a few steps per configuration: checks that everything runs, numbers are meaningless
//   --reports where each configuration writes its run's HTML report (<folder>/<task>/<config>/report.html; default a
//            folder under the temp folder)
//   --config one configuration in this process (what the parent starts; also useful on its own)
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using FineTuning.Examples.QLoRAComparison;

IComparisonTask[] allTasks = { new MiniLMTask(), new StoriesTask() };
string taskName = "all";
string? configName = null, outPath = null;
string reports = Path.Combine(Path.GetTempPath(), "finetuning-05");
bool smoke = false;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--task" when i + 1 < args.Length: taskName = args[++i]; break;
        case "--config" when i + 1 < args.Length: configName = args[++i]; break;
        case "--out" when i + 1 < args.Length: outPath = args[++i]; break;
        case "--reports" when i + 1 < args.Length: reports = Path.GetFullPath(args[++i]); break;
        case "--smoke": smoke = true; break;
        default: return Usage($"unknown or incomplete argument \"{args[i]}\"");
    }
}

List<IComparisonTask> tasks = taskName == "all"
    ? allTasks.ToList()
    : allTasks.Where(t => t.Name == taskName).ToList();
if (tasks.Count == 0) return Usage($"unknown task \"{taskName}\"");

if (configName is not null)
{
    Configuration? configuration = Configuration.Find(configName);
    if (configuration is null) return Usage($"unknown configuration \"{configName}\"");
    if (tasks.Count != 1) return Usage("--config runs one configuration of one task: give --task minilm or --task stories");
    return Child.Run(tasks[0], configuration, smoke, reports);
}

string command = "FINETUNING_MODELS_DIR=<models> dotnet run --project examples/05-QLoRAComparison -c Release --" +
                 (taskName == "all" ? "" : $" --task {taskName}") + (outPath is null ? "" : Path.IsPathRooted(outPath) ? " --out <file.md>" : $" --out {outPath.Replace('\\', '/')}") + (smoke ? " --smoke" : "");
return Parent.Run(tasks, smoke, outPath, reports, command);

static int Usage(string problem)
{
    Console.Error.WriteLine(problem);
    Console.Error.WriteLine("usage: [--task minilm|stories|all] [--out file.md] [--reports folder] [--smoke] [--config " +
                            string.Join("|", Configuration.All.Select(c => c.Name)) + "]");
    return 2;
}

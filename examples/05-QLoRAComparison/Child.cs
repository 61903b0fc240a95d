using System;
using System.Linq;
using System.Text.Json;
using TorchSharp;

namespace FineTuning.Examples.QLoRAComparison;

/// <summary>
/// The child side: runs one configuration of one task in this process and prints one <c>RESULT {json}</c> line. Peak
/// memory is the process's own high-water mark, so each configuration needs a fresh process: nothing an earlier
/// configuration allocated can raise it.
/// </summary>
internal static class Child
{
    public static int Run(IComparisonTask task, Configuration configuration, bool smoke, string reports)
    {
        ConfigResult result;
        int exitCode = 0;
        var memory = new PeakMeter();
        try
        {
            torch.set_num_threads(Math.Min(2, Environment.ProcessorCount));
            torch.manual_seed(0); // the same seed in every child: identical head initialization and dropout
            result = task.Run(configuration, smoke, memory, System.IO.Path.Combine(reports, task.Name, configuration.Name));
        }
        catch (Exception e)
        {
            Console.Error.WriteLine(e);
            string message = e.Message.Split('\n')[0].Trim();
            result = new ConfigResult { Task = task.Name, Config = configuration.Name, Error = $"{e.GetType().Name}: {message}" };
            exitCode = 1;
        }
        // At the very end: loading, training and evaluation included.
        result = result with { PeakRssBytes = memory.Overall(), PhasePeakBytes = memory.Phases.Count > 0 ? memory.Phases.ToDictionary() : null };
        Console.WriteLine(ConfigResult.LinePrefix + JsonSerializer.Serialize(result));
        return exitCode;
    }
}

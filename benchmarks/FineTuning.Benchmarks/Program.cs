using BenchmarkDotNet.Running;

namespace FineTuning.Benchmarks;

internal static class Program
{
    // BenchmarkSwitcher lets `-- --filter '*TrainingStep*'` pick benchmarks from the command line;
    // `memory [steps]` runs the peak-memory table (MemoryRunner), one child process per configuration.
    private static void Main(string[] args)
    {
        if (args.Length > 0 && args[0].StartsWith("memory", System.StringComparison.Ordinal)) MemoryRunner.Run(args);
        else BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
    }
}

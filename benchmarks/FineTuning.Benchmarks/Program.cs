using BenchmarkDotNet.Running;

namespace FineTuning.Benchmarks;

internal static class Program
{
    // BenchmarkSwitcher lets `-- --filter '*TrainingStep*'` pick benchmarks from the command line.
    private static void Main(string[] args) =>
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}

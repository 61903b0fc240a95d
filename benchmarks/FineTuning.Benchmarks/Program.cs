using System;
using BenchmarkDotNet.Running;
using FineTuning.Benchmarks.Throughput;

namespace FineTuning.Benchmarks;

internal static class Program
{
    // BenchmarkSwitcher lets `-- --filter '*TrainingStep*'` pick benchmarks from the command line. Whole training steps
    // take seconds, too long for BenchmarkDotNet's iterations: `-- throughput` runs the console benchmark instead
    // (docs/benchmarks/throughput.md); the other two verbs are its child processes. `memory [steps]` runs the
    // peak-memory table (MemoryRunner, docs/benchmarks/memory.md), one child process per configuration.
    private static int Main(string[] args)
    {
        if (args.Length > 0 && args[0].StartsWith("memory", System.StringComparison.Ordinal))
        {
            MemoryRunner.Run(args);
            return 0;
        }
        if (args.Length > 0 && args[0] == "big-memory") return QLoRA.BigMemoryCommand.Run(args[1..]);
        if (args.Length > 1 && args[0] == "big-memory-child") return QLoRA.BigMemoryCommand.Child(args[1..]);
        if (args.Length > 0 && args[0] == "qlora-profile") return QLoRA.QLoRAProfile.Run(args[1..]);
        if (args.Length > 0 && args[0] == "throughput") return ThroughputCommand.Run(args[1..]);
        if (args.Length > 0 && args[0] == "throughput-matmul") return MatmulPeak.Run(int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture));
        if (args.Length > 1 && args[0] == "throughput-step") return StepRun(args);
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }

    private static int StepRun(string[] args)
    {
        int Option(string name)
        {
            int i = Array.IndexOf(args, "--" + name);
            return int.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture);
        }

        var shape = new ThroughputShape(Batch: Option("batch"), Sequence: Option("seq"));
        return StepRunner.Run(ThroughputConfig.Parse(args[1]), shape, Option("warmup"), Option("steps"), Option("threads"), Array.IndexOf(args, "--lockstep") > 0);
    }
}

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
        const string usage = "usage: throughput-step CONFIG --batch N --seq N --warmup N --steps N --threads N [--lockstep] (a child of `throughput`; docs/benchmarks/throughput.md)";
        int Option(string name)
        {
            int i = Array.IndexOf(args, "--" + name);
            if (i < 0 || i + 1 >= args.Length || !int.TryParse(args[i + 1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int value))
                throw new ArgumentException($"--{name} needs a whole number. {usage}");
            return value;
        }

        if (args[1].StartsWith("--", StringComparison.Ordinal))
        {
            Console.Error.WriteLine(usage);
            return 2;
        }

        ThroughputConfig config;
        ThroughputShape shape;
        int warmup, steps, threads;
        try
        {
            config = ThroughputConfig.Parse(args[1]);
            shape = new ThroughputShape(Batch: Option("batch"), Sequence: Option("seq"));
            (warmup, steps, threads) = (Option("warmup"), Option("steps"), Option("threads"));
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine(e.Message);
            return 2;
        }

        return StepRunner.Run(config, shape, warmup, steps, threads, Array.IndexOf(args, "--lockstep") > 0);
    }
}

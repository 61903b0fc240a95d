using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;

namespace FineTuning.Benchmarks.Throughput;

/// <summary>
/// <c>dotnet run -c Release --project benchmarks/FineTuning.Benchmarks -- throughput [options]</c>: times whole training
/// steps of every configuration, each in its own process (so each peak RSS is its own), interleaved step by step
/// (<c>--lockstep true</c>, the default: every process is started, then one step of each runs in turn) or round by
/// round (<c>--lockstep false</c>: one process after the other), and prints a markdown table of medians, tokens/s,
/// ratios and MFU against this machine's measured fp32 matmul peak; in lockstep also the paired step ratios.
/// See docs/benchmarks/throughput.md.
/// </summary>
internal static class ThroughputCommand
{
    private static readonly Dictionary<string, string[]> Sets = new(StringComparer.Ordinal)
    {
        ["main"] = ["pytorch-lora", "plain-lora", "ours-lora", "ours-qlora", "ours-full"],
        ["allocator"] = ["ours-lora:tune=true:trim=10", "ours-lora:mmap=16:trim=0", "ours-lora:mmap=64:trim=0", "ours-lora:trim=0", "ours-lora:trim=10", "ours-lora:trim=1"],
        ["dtype"] = ["pytorch-lora", "pytorch-lora:bf16", "ours-lora", "ours-lora:bf16", "ours-full", "ours-full:bf16"],
    };

    public static int Run(string[] args)
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal)) throw new ArgumentException($"expected --name value, got '{args[i]}'");
            options[args[i][2..]] = args[i + 1];
        }

        string Get(string name, string fallback) => options.TryGetValue(name, out string? v) ? v : fallback;
        int Int(string name, int fallback) => int.Parse(Get(name, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
        var shape = new ThroughputShape(Batch: Int("batch", 8), Sequence: Int("seq", 256));
        int rounds = Int("rounds", 2), steps = Int("steps", 3), warmup = Int("warmup", 1), threads = Int("threads", 2);
        string[] names = options.TryGetValue("configs", out string? list) ? list.Split(',') : Sets[Get("set", "main")];
        List<ThroughputConfig> configs = names.Select(ThroughputConfig.Parse).ToList();
        string common = FormattableString.Invariant($"--steps {steps} --warmup {warmup} --batch {shape.Batch} --seq {shape.Sequence} --threads {threads}");

        var log = new List<string> { $"CPU: {CpuModel()}; {threads} threads; load at start {Load()}" };
        Console.WriteLine(log[0]);
        double peak = Peak(Child("throughput-matmul --threads " + threads.ToString(CultureInfo.InvariantCulture), null));
        var times = configs.ToDictionary(c => c.Name, _ => new List<double>());
        var rss = configs.ToDictionary(c => c.Name, _ => new List<double>());
        bool lockstep = bool.Parse(Get("lockstep", "true"));
        for (int round = 0; round < rounds; round++)
        {
            // Rotate the order each round so no configuration always runs first (or right after the heaviest one).
            List<ThroughputConfig> order = configs.Skip(round % configs.Count).Concat(configs.Take(round % configs.Count)).ToList();
            string load = Load();
            IEnumerable<(ThroughputConfig Config, string Output)> outputs = lockstep
                ? Lockstep(order, common, threads, Get("python", "python3"), warmup + steps)
                : order.Select(config => (config, RunProcess(StartInfo(config, common, threads, Get("python", "python3"), lockstep: false))));
            foreach ((ThroughputConfig config, string output) in outputs)
            {
                (double[] seconds, double peakRss, string faults) = Parse(output);
                times[config.Name].AddRange(seconds);
                rss[config.Name].Add(peakRss);
                string line = FormattableString.Invariant($"round {round + 1} {config.Name}: steps {string.Join(" ", seconds.Select(s => s.ToString("F2", CultureInfo.InvariantCulture)))} s, peak RSS {peakRss:F0} MiB, minor faults {faults}, load before {load}");
                Console.WriteLine(line);
                log.Add(line);
                load = Load();
            }
        }

        double peakEnd = Peak(Child("throughput-matmul --threads " + threads.ToString(CultureInfo.InvariantCulture), null));
        log.Add(FormattableString.Invariant($"fp32 matmul 2048^3: {peak:F1} GFLOP/s at start, {peakEnd:F1} at end; load at end {Load()}"));
        string table = ThroughputTable.Format(configs, shape, times, rss, Math.Max(peak, peakEnd));
        if (lockstep) table += Environment.NewLine + ThroughputTable.Paired(configs, times, options.GetValueOrDefault("reference"));
        string report = table + Environment.NewLine + string.Join(Environment.NewLine, log.Select(l => "    " + l)) + Environment.NewLine;
        Console.WriteLine(report);
        if (options.TryGetValue("out", out string? path)) File.WriteAllText(path, report);
        return 0;
    }

    internal static string Child(string arguments, IReadOnlyDictionary<string, string>? environment) => RunProcess(DotnetChild(arguments, environment));

    private static ProcessStartInfo DotnetChild(string arguments, IReadOnlyDictionary<string, string>? environment)
    {
        string dll = typeof(ThroughputCommand).Assembly.Location;
        var start = new ProcessStartInfo("dotnet", $"\"{dll}\" {arguments}") { RedirectStandardOutput = true, UseShellExecute = false };
        foreach ((string name, string value) in environment ?? new Dictionary<string, string>()) start.Environment[name] = value;
        return start;
    }

    /// <summary>The child process that runs one configuration: this benchmark's <c>throughput-step</c>, or step.py.</summary>
    private static ProcessStartInfo StartInfo(ThroughputConfig config, string common, int threads, string python, bool lockstep)
    {
        string gate = lockstep ? " --lockstep" : string.Empty;
        if (config.Kind != "pytorch") return DotnetChild($"throughput-step {config.Name} {common}{gate}", config.Environment());
        string script = FindUp(Path.Combine("benchmarks", "pytorch", "step.py"));
        string flags = (config.DType == TorchSharp.torch.ScalarType.BFloat16 ? " --bf16" : string.Empty) + gate;
        var start = new ProcessStartInfo(python, $"\"{script}\" --name {config.Name} --adapter {config.Adapter} {common}{flags}") { RedirectStandardOutput = true, UseShellExecute = false };
        // Debian's PyTorch multiplies through OpenBLAS, whose own thread pool ignores torch.set_num_threads.
        start.Environment["OPENBLAS_NUM_THREADS"] = threads.ToString(CultureInfo.InvariantCulture);
        return start;
    }

    /// <summary>
    /// One round in lockstep: every configuration's process is started at once (each keeps its own memory and peak),
    /// then step k of each runs in turn, one process at a time, the order rotating each step; the others wait for
    /// their turn without computing. So step k of every configuration meets the same machine, and the ratio of two
    /// configurations' step k (<see cref="ThroughputTable.Paired"/>) cancels slow drifts of the host's load that the
    /// round-by-round order cannot.
    /// </summary>
    private static List<(ThroughputConfig Config, string Output)> Lockstep(List<ThroughputConfig> configs, string common, int threads, string python, int totalSteps)
    {
        var processes = new List<Process>();
        try
        {
            foreach (ThroughputConfig config in configs)
            {
                ProcessStartInfo start = StartInfo(config, common, threads, python, lockstep: true);
                start.RedirectStandardInput = true;
                processes.Add(Process.Start(start) ?? throw new InvalidOperationException($"could not start {start.FileName}"));
            }

            for (int step = 0; step < totalSteps; step++)
            {
                for (int i = 0; i < processes.Count; i++)
                {
                    Process process = processes[(i + step) % processes.Count];
                    ReadUntil(process, "WAIT");
                    process.StandardInput.WriteLine("go");
                    process.StandardInput.Flush();
                    ReadUntil(process, "STEP ");
                }
            }

            var outputs = new List<(ThroughputConfig, string)>();
            for (int i = 0; i < processes.Count; i++)
            {
                string rest = processes[i].StandardOutput.ReadToEnd();
                processes[i].WaitForExit();
                if (processes[i].ExitCode != 0) throw new InvalidOperationException($"{configs[i].Name} exited with {processes[i].ExitCode}: {rest}");
                outputs.Add((configs[i], rest));
            }

            return outputs;
        }
        finally
        {
            foreach (Process process in processes)
            {
                if (!process.HasExited) process.Kill(entireProcessTree: true);
                process.Dispose();
            }
        }
    }

    private static void ReadUntil(Process process, string prefix)
    {
        while (process.StandardOutput.ReadLine() is { } line)
        {
            if (line.StartsWith(prefix, StringComparison.Ordinal)) return;
        }

        process.WaitForExit();
        throw new InvalidOperationException($"{process.StartInfo.Arguments}: ended (exit code {process.ExitCode}) before printing {prefix.Trim()}");
    }

    private static string RunProcess(ProcessStartInfo start)
    {
        using Process process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {start.FileName}");
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0) throw new InvalidOperationException($"{start.FileName} {start.Arguments} exited with {process.ExitCode}: {output}");
        return output;
    }

    private static (double[] Seconds, double PeakRss, string MinorFaults) Parse(string output)
    {
        string line = output.Split('\n').LastOrDefault(l => l.StartsWith("RESULT ", StringComparison.Ordinal))
                      ?? throw new InvalidOperationException("no RESULT line in: " + output);
        Dictionary<string, string> fields = line.Split(' ').Skip(2).Select(f => f.Split('=', 2)).ToDictionary(f => f[0], f => f[1], StringComparer.Ordinal);
        double[] seconds = fields["step_seconds"].Split(',').Select(s => double.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        return (seconds, double.Parse(fields["peak_rss_mib"], CultureInfo.InvariantCulture),
            fields.TryGetValue("minor_faults", out string? faults) ? faults.Replace(',', ' ') : "-");
    }

    private static double Peak(string output) =>
        double.Parse(output.Split('\n').Last(l => l.StartsWith("RESULT matmul", StringComparison.Ordinal)).Split('=')[1], CultureInfo.InvariantCulture);

    private static string FindUp(string relative)
    {
        for (DirectoryInfo? d = new(Directory.GetCurrentDirectory()); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, relative))) return Path.Combine(d.FullName, relative);
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, relative))) return Path.Combine(d.FullName, relative);
        throw new FileNotFoundException($"{relative} not found above the current folder or the benchmark's");
    }

    internal static string Load() => File.Exists("/proc/loadavg") ? string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";

    internal static string CpuModel()
    {
        if (!File.Exists("/proc/cpuinfo")) return "unknown";
        string[] lines = File.ReadAllLines("/proc/cpuinfo");
        string model = lines.FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown";
        string[] flags = (lines.FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal))?.Split(':', 2)[1] ?? string.Empty).Split(' ');
        string[] shown = new[] { "avx2", "avx512f", "avx512_bf16", "amx_bf16" }.Where(flags.Contains).ToArray();
        return $"{model} ({string.Join(", ", shown)}), {Environment.ProcessorCount} cores visible";
    }
}

using System;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.InteropServices;
using TorchSharp;

namespace FineTuning.Examples.QLoRAComparison;

/// <summary>The machine description written next to the tables (no host names, no paths).</summary>
internal sealed record Machine(string Cpu, string CpuFlags, int Cores, string Memory, string OS, string Kernel, string DotNet, string TorchSharp,
    DateTime StartedUtc, string LoadAtStart, DateTime? FinishedUtc = null, string? LoadAtEnd = null)
{
    public static Machine Describe() => new(
        Cpu: ProcField("/proc/cpuinfo", "model name") ?? RuntimeInformation.ProcessArchitecture.ToString(),
        Cores: Environment.ProcessorCount,
        Memory: ProcField("/proc/meminfo", "MemTotal") is { } total ? $"{KilobytesToGiB(total):F1} GiB" : "n/a",
        CpuFlags: ReadCpuFlags(),
        OS: OsRelease() ?? RuntimeInformation.OSDescription,
        Kernel: File.Exists("/proc/sys/kernel/osrelease") ? "Linux " + File.ReadAllText("/proc/sys/kernel/osrelease").Trim() : Environment.OSVersion.ToString(),
        DotNet: RuntimeInformation.FrameworkDescription,
        TorchSharp: typeof(torch).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
                    ?? typeof(torch).Assembly.GetName().Version?.ToString() ?? "?",
        StartedUtc: DateTime.UtcNow,
        LoadAtStart: LoadAverage());

    public Machine Finished() => this with { FinishedUtc = DateTime.UtcNow, LoadAtEnd = LoadAverage() };

    /// <summary>The 1-, 5- and 15-minute load averages, or "n/a".</summary>
    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(" / ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    private static string? ProcField(string file, string key)
    {
        if (!File.Exists(file)) return null;
        string? line = File.ReadLines(file).FirstOrDefault(l => l.StartsWith(key, StringComparison.Ordinal) && l.Contains(':', StringComparison.Ordinal));
        return line?[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
    }

    /// <summary>Which of the instruction-set flags that decide fp32/bf16 speed the CPU reports.</summary>
    private static string ReadCpuFlags()
    {
        string[] flags = (ProcField("/proc/cpuinfo", "flags") ?? string.Empty).Split(' ');
        string[] present = new[] { "avx2", "avx512f", "avx512_bf16", "amx_bf16" }.Where(flags.Contains).ToArray();
        return flags.Length <= 1 ? "n/a" : present.Length == 0 ? "none of avx2, avx512f, avx512_bf16, amx_bf16" : string.Join(", ", present);
    }

    private static double KilobytesToGiB(string value) =>
        long.TryParse(value.Split(' ')[0], out long kb) ? kb / 1024.0 / 1024.0 : double.NaN;

    private static string? OsRelease()
    {
        const string file = "/etc/os-release", key = "PRETTY_NAME=";
        if (!File.Exists(file)) return null;
        string? line = File.ReadLines(file).FirstOrDefault(l => l.StartsWith(key, StringComparison.Ordinal));
        return line?[key.Length..].Trim('"');
    }
}

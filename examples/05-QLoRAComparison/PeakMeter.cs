using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace FineTuning.Examples.QLoRAComparison;

/// <summary>
/// The process's peak resident memory as the kernel counts it (native libtorch memory included), overall and per
/// phase. Linux keeps the high-water mark in VmHWM (/proc/self/status); writing "5" to /proc/self/clear_refs resets
/// it to the current resident size (proc(5)), so the peak of each phase can be read at its end. The maximum over the
/// phases is the peak of the whole process, the value VmHWM would show at the end without resets.
/// </summary>
internal sealed class PeakMeter
{
    private const string Status = "/proc/self/status", ClearRefs = "/proc/self/clear_refs";
    private readonly Dictionary<string, long> _phases = new();
    private bool _resets = true;

    /// <summary>Peak of each finished phase, in bytes; empty where VmHWM cannot be read or reset.</summary>
    public IReadOnlyDictionary<string, long> Phases => _resets ? _phases : new Dictionary<string, long>();

    /// <summary>Ends a phase: records its peak and starts the next one.</summary>
    public void EndPhase(string name)
    {
        if (PeakResidentBytes() is not { } peak) return;
        _phases[name] = peak;
        if (!_resets) return;
        try
        {
            File.WriteAllText(ClearRefs, "5");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _resets = false; // peaks stay cumulative; Overall is still right
        }
    }

    /// <summary>Peak of the whole process so far, in bytes; null where there is no /proc (not Linux).</summary>
    public long? Overall()
    {
        long? now = PeakResidentBytes();
        if (now is null) return null;
        return _phases.Count == 0 ? now : Math.Max(now.Value, _phases.Values.Max());
    }

    /// <summary>VmHWM from /proc/self/status in bytes, or null.</summary>
    private static long? PeakResidentBytes()
    {
        if (!OperatingSystem.IsLinux() || !File.Exists(Status)) return null;
        string? line = File.ReadLines(Status).FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        if (line is null) return null;
        string[] parts = line["VmHWM:".Length..].Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries); // "\t  123456 kB"
        return parts.Length == 2 && parts[1] == "kB" && long.TryParse(parts[0], out long kilobytes) ? kilobytes * 1024 : null;
    }
}

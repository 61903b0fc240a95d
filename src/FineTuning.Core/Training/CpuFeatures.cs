using System;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;

namespace FineTuning.Training;

/// <summary>What this machine's processor offers that changes which dtype is fast.</summary>
public static class CpuFeatures
{
    private static readonly Lazy<bool?> NativeBFloat16 = new(DetectNativeBFloat16);

    /// <summary>
    /// True when the CPU multiplies bf16 matrices natively (x86 <c>avx512_bf16</c> or AMX <c>amx_bf16</c>), false when it
    /// does not (bf16 matrix products are then emulated: about 60x slower than fp32 on an AVX2-only AMD EPYC, see
    /// docs/training.md), null when it cannot be told (not Linux on x86-64: /proc/cpuinfo is the source).
    /// </summary>
    public static bool? HasNativeBFloat16 => NativeBFloat16.Value;

    /// <summary>Reads the flags line of a /proc/cpuinfo text; internal for tests.</summary>
    internal static bool? NativeBFloat16From(string cpuinfo)
    {
        string? flags = cpuinfo.Split('\n').FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal));
        if (flags is null) return null;
        string[] names = flags[(flags.IndexOf(':', StringComparison.Ordinal) + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return names.Contains("avx512_bf16", StringComparer.Ordinal) || names.Contains("amx_bf16", StringComparer.Ordinal);
    }

    private static bool? DetectNativeBFloat16()
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64) return null;
        try
        {
            return NativeBFloat16From(File.ReadAllText("/proc/cpuinfo"));
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}

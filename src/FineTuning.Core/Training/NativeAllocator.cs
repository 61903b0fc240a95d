using System;
using System.Runtime.InteropServices;
using System.Threading;

namespace FineTuning.Training;

/// <summary>
/// The low-memory opt-in (<see cref="TrainingOptions.TuneNativeAllocator"/>) and the heap trim. Serving every allocation
/// of 4 MiB (<see cref="TrainingOptions.NativeAllocatorMmapThreshold"/>) or more with mmap (M_MMAP_THRESHOLD) returns those buffers to the system as soon as they are freed, which
/// keeps the peak resident memory low and the heap from fragmenting between large buffers (../shared/TORCHSHARP.md);
/// the price is that every large activation gets fresh pages the kernel must zero: measured 1.4-1.6x slower LLaMA
/// steps (docs/training.md#memory), so it is off unless asked for.
/// </summary>
internal static class NativeAllocator
{
    private const int MMmapThreshold = -3;

    /// <summary>
    /// Null when <paramref name="bytes"/> is in glibc's range for the mmap threshold (64 KiB to 32 MiB); otherwise the
    /// end of a sentence saying so, for the caller to start with the setting's name.
    /// </summary>
    internal static string? ThresholdProblem(int bytes) =>
        bytes is < 64 * 1024 or > 32 * 1024 * 1024 ? $"must be from 65536 (64 KiB) to 33554432 (32 MiB) bytes, glibc's range (was {bytes})." : null;
    private static int _applied;

    /// <summary>
    /// Sets glibc's mmap threshold to <paramref name="bytes"/> for the process; true when this call changed it (a
    /// later run asking for the same threshold changes nothing). False where the C library is not glibc.
    /// </summary>
    public static bool Tune(int bytes)
    {
        if (!OperatingSystem.IsLinux() || Interlocked.Exchange(ref _applied, bytes) == bytes) return false;
        try
        {
            return mallopt(MMmapThreshold, bytes) == 1;
        }
        catch (DllNotFoundException)
        {
            return false; // not glibc (e.g. musl): nothing to tune
        }
        catch (EntryPointNotFoundException)
        {
            return false;
        }
    }

    /// <summary>
    /// Returns the free pages of glibc's heaps to the system (malloc_trim(0) releases whole free pages inside the heap,
    /// not only at its top). False when the C library has no malloc_trim (not glibc).
    /// </summary>
    public static bool Trim()
    {
        if (!OperatingSystem.IsLinux() || _noTrim) return false;
        try
        {
            malloc_trim(0);
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            _noTrim = true;
            return false;
        }
    }

    private static bool _noTrim;

    [DllImport("libc", EntryPoint = "malloc_trim")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int malloc_trim(nuint pad);

    [DllImport("libc", EntryPoint = "mallopt")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int mallopt(int param, int value);
}

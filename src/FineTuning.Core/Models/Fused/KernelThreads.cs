using System;
using System.IO;
using System.Linq;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using TorchSharp;

namespace FineTuning.Models.Fused;

/// <summary>
/// Runs a C# kernel's loop on libtorch's own OpenMP threads: the loop is split into one contiguous part per thread and
/// handed to libgomp's <c>GOMP_parallel</c>, the entry point <c>#pragma omp parallel</c> compiles to, so the part for
/// the second thread runs on the worker libtorch's operators use, which is already awake (it spins between parallel
/// operators). A second .NET thread would compete with that spinning worker for the core instead: measured in the
/// LoRA step, splitting the kernels with <c>Parallel.For</c> lost to running them on the calling thread alone, and this
/// halves them (docs/benchmarks/hot-paths.md).
/// </summary>
/// <remarks>
/// The number of threads is libtorch's (<c>torch.get_num_threads()</c>, which <c>TrainingOptions.Threads</c> sets).
/// Where libgomp is not loaded (another OS, or a libtorch built with another OpenMP), inside a parallel region, with one
/// thread, for less work than <c>minimum</c> per thread, or with the environment variable
/// <c>FINETUNING_KERNEL_THREADS=0</c> (an escape hatch, read once), the loop runs on the calling thread. Exceptions from a part
/// are caught on the thread that ran it and rethrown on the caller's. The parts are the same for the same count and
/// thread count, so results are reproducible run to run.
/// </remarks>
internal static unsafe class KernelThreads
{
    private static readonly Lazy<Entry?> s_entry = new(Load);

    /// <summary>
    /// Values per thread below which a loop is not split: libtorch's grain size for element-wise operators (32,768).
    /// Fewer values finish before a second thread would be worth waking.
    /// </summary>
    internal const long Grain = 32768;

    /// <summary>The <c>minimum</c> for <see cref="For"/> over items of <paramref name="valuesPerItem"/> values each (rows, blocks): <see cref="Grain"/> values per thread.</summary>
    internal static long MinimumItems(long valuesPerItem) => Math.Max(1, Grain / Math.Max(1, valuesPerItem));

    /// <summary>Whether libgomp was found in this process (the loops can then use libtorch's threads).</summary>
    internal static bool Available => s_entry.Value is not null;

    /// <summary>
    /// Calls <paramref name="body"/>(start, end, part) over [0, <paramref name="count"/>) split into contiguous parts whose
    /// boundaries are multiples of <paramref name="align"/>, each of at least <paramref name="minimum"/> items; part is
    /// the index of the part, below <see cref="Parts"/>(count, minimum).
    /// </summary>
    internal static void For(long count, long minimum, long align, Action<long, long, int> body)
    {
        int parts = Parts(count, minimum);
        if (parts <= 1)
        {
            if (count > 0) body(0, count, 0);
            return;
        }

        var work = new Work(count, parts, Math.Max(1, align), body);
        GCHandle handle = GCHandle.Alloc(work);
        try
        {
            s_entry.Value!.Parallel(&RunPart, GCHandle.ToIntPtr(handle), (uint)parts, 0);
        }
        finally
        {
            handle.Free();
        }

        if (work.Error is not null) ExceptionDispatchInfo.Capture(work.Error).Throw();
    }

    /// <summary>How many parts <see cref="For"/> splits <paramref name="count"/> items into (1: the calling thread alone).</summary>
    internal static int Parts(long count, long minimum)
    {
        Entry? entry = s_entry.Value;
        if (entry is null || entry.InParallel() != 0) return 1;
        long threads = torch.get_num_threads();
        return (int)Math.Clamp(count / Math.Max(1, minimum), 1, Math.Max(1, threads));
    }

    [UnmanagedCallersOnly]
    private static void RunPart(nint data)
    {
        var work = (Work)GCHandle.FromIntPtr(data).Target!;
        try
        {
            Entry entry = s_entry.Value!;
            int part = entry.ThreadNum(), team = entry.NumThreads();
            // libgomp may start fewer threads than asked for: the parts of missing threads go to the last one.
            for (int p = part; p < work.Parts; p += team)
            {
                long start = work.Boundary(p), end = work.Boundary(p + 1);
                if (start < end) work.Body(start, end, p);
            }
        }
        catch (Exception e)
        {
            lock (work) work.Error ??= e;
        }
    }

    private static Entry? Load()
    {
        try
        {
            const string maps = "/proc/self/maps";
            if (Environment.GetEnvironmentVariable("FINETUNING_KERNEL_THREADS") is "0" or "false") return null;
            if (!OperatingSystem.IsLinux() || !File.Exists(maps)) return null;
            // libtorch's own libgomp (TorchSharp's native package ships it under a hashed name), as mapped into this process.
            string? path = File.ReadLines(maps)
                .Select(line => line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries))
                .Where(f => f.Length == 6 && Path.GetFileName(f[5].Trim()).StartsWith("libgomp", StringComparison.Ordinal))
                .Select(f => f[5].Trim())
                .FirstOrDefault();
            if (path is null) return null;
            nint library = NativeLibrary.Load(path);
            return new Entry(
                (delegate* unmanaged<delegate* unmanaged<nint, void>, nint, uint, uint, void>)NativeLibrary.GetExport(library, "GOMP_parallel"),
                (delegate* unmanaged<int>)NativeLibrary.GetExport(library, "omp_get_thread_num"),
                (delegate* unmanaged<int>)NativeLibrary.GetExport(library, "omp_get_num_threads"),
                (delegate* unmanaged<int>)NativeLibrary.GetExport(library, "omp_in_parallel"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or DllNotFoundException or EntryPointNotFoundException or BadImageFormatException)
        {
            return null;
        }
    }

    private sealed class Entry(
        delegate* unmanaged<delegate* unmanaged<nint, void>, nint, uint, uint, void> parallel,
        delegate* unmanaged<int> threadNum,
        delegate* unmanaged<int> numThreads,
        delegate* unmanaged<int> inParallel)
    {
        public void Parallel(delegate* unmanaged<nint, void> fn, nint data, uint threads, uint flags) => parallel(fn, data, threads, flags);

        public int ThreadNum() => threadNum();

        public int NumThreads() => numThreads();

        public int InParallel() => inParallel();
    }

    private sealed class Work(long count, int parts, long align, Action<long, long, int> body)
    {
        public int Parts { get; } = parts;

        public Action<long, long, int> Body { get; } = body;

        public Exception? Error { get; set; }

        /// <summary>The first item of part p (count for p = Parts): equal shares rounded up to the alignment.</summary>
        public long Boundary(int p)
        {
            if (p >= Parts) return count;
            long share = (count + Parts - 1) / Parts;
            share = (share + align - 1) / align * align;
            return Math.Min(count, p * share);
        }
    }
}

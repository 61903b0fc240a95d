using System;
using System.Collections.Concurrent;
using System.Linq;
using FineTuning.Models.Fused;
using FsCheck.Xunit;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Core.Tests.Models.Fused;

/// <summary>
/// <see cref="KernelThreads"/>: the C# kernels' loops split over libtorch's OpenMP threads through libgomp. Every item
/// is visited exactly once, in parts aligned as asked; exceptions reach the caller; one thread (or little work) keeps the
/// loop on the calling thread. The kernels' own tests (RMSNorm, rotary, SwiGLU, the loss) run through it too.
/// </summary>
public sealed class KernelThreadsTests
{
    [Fact]
    public void Available_WhereLibtorchRunsOnLinux()
    {
        FineTuningRuntime.EnsureLoaded();
        bool disabled = Environment.GetEnvironmentVariable("FINETUNING_KERNEL_THREADS") is "0" or "false";
        Assert.Equal(OperatingSystem.IsLinux() && !disabled, KernelThreads.Available);
    }

    /// <summary>Any count, minimum and alignment, with two threads: the parts cover [0, count) once, boundaries aligned.</summary>
    [Property(MaxTest = 60)]
    public bool For_AnySplit_VisitsEveryItemOnce(ushort countSeed, byte minimumSeed, byte alignSeed)
    {
        long count = countSeed % 5000, minimum = 1 + (minimumSeed % 300), align = 1 + (alignSeed % 20);
        var visits = new int[count];
        var parts = new ConcurrentBag<(long Start, long End, int Part)>();
        int expectedParts = WithThreads(2, () => KernelThreads.Parts(count, minimum));
        WithThreads(2, () =>
        {
            KernelThreads.For(count, minimum, align, (start, end, part) =>
            {
                parts.Add((start, end, part));
                for (long i = start; i < end; i++) System.Threading.Interlocked.Increment(ref visits[i]);
            });
            return 0;
        });
        return visits.All(v => v == 1)
            && parts.All(p => p.Part >= 0 && p.Part < expectedParts && (p.Start % align == 0 || expectedParts == 1))
            && parts.Select(p => p.Part).Distinct().Count() == parts.Count;
    }

    [Fact]
    public void For_TwoThreadsEnoughWork_RunsPartsOnTwoThreads()
    {
        FineTuningRuntime.EnsureLoaded();
        if (!KernelThreads.Available) return; // another OS or OpenMP: the loops stay on the calling thread (covered below)
        var threads = new ConcurrentBag<int>();
        WithThreads(2, () =>
        {
            KernelThreads.For(1 << 20, 1024, 16, (_, _, _) => threads.Add(Environment.CurrentManagedThreadId));
            return 0;
        });
        Assert.Equal(2, threads.Count);
        Assert.Equal(2, threads.Distinct().Count());
    }

    [Fact]
    public void For_OneThreadOrLittleWork_RunsOnTheCallingThreadInOnePart()
    {
        int caller = Environment.CurrentManagedThreadId;
        var seen = new ConcurrentBag<(int Thread, long Start, long End)>();
        WithThreads(1, () =>
        {
            KernelThreads.For(1 << 20, 1, 1, (s, e, _) => seen.Add((Environment.CurrentManagedThreadId, s, e)));
            return 0;
        });
        WithThreads(2, () =>
        {
            KernelThreads.For(100, 1000, 1, (s, e, _) => seen.Add((Environment.CurrentManagedThreadId, s, e)));
            return 0;
        });
        Assert.Equal(new[] { (caller, 0L, 100L), (caller, 0L, 1L << 20) }, seen.OrderBy(x => x.End).ToArray());
    }

    [Fact]
    public void For_APartThrows_TheCallerGetsTheException()
    {
        var error = Assert.Throws<InvalidOperationException>(() => WithThreads(2, () =>
        {
            KernelThreads.For(1 << 16, 1024, 1, (_, end, _) =>
            {
                if (end == 1 << 16) throw new InvalidOperationException("last part"); // with two threads, on the worker
            });
            return 0;
        }));
        Assert.Equal("last part", error.Message);
    }

    private static T WithThreads<T>(int threads, Func<T> action)
    {
        FineTuningRuntime.EnsureLoaded();
        int before = get_num_threads();
        set_num_threads(threads);
        try
        {
            return action();
        }
        finally
        {
            set_num_threads(before);
        }
    }
}

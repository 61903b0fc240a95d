using System;
using System.Threading;

namespace FineTuning.Evaluation;

/// <summary>
/// The peak resident memory of the process while it lives, sampled every 10 ms on a timer thread (native libtorch memory
/// included). Sampling instead of the kernel's high-water mark leaves the process's own counters alone.
/// </summary>
internal sealed class MemorySampler : IDisposable
{
    private readonly Timer _timer;
    private long _peak;
    private bool _failed;

    public MemorySampler()
    {
        Sample(null);
        _timer = new Timer(Sample, null, TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(10));
    }

    /// <summary>The largest resident size seen so far (a last sample is taken now), or null where it cannot be read.</summary>
    public long? Peak
    {
        get
        {
            Sample(null);
            return Volatile.Read(ref _failed) ? null : Interlocked.Read(ref _peak);
        }
    }

    public void Dispose() => _timer.Dispose();

    private void Sample(object? state)
    {
        _ = state;
        long now;
        try
        {
            now = Environment.WorkingSet;
        }
        catch (Exception e) when (e is PlatformNotSupportedException or InvalidOperationException)
        {
            Volatile.Write(ref _failed, true);
            return;
        }
        long seen = Interlocked.Read(ref _peak);
        while (now > seen)
        {
            long previous = Interlocked.CompareExchange(ref _peak, now, seen);
            if (previous == seen) break;
            seen = previous;
        }
    }
}

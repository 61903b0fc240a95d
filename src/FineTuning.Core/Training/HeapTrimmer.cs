using System;
using System.Diagnostics;

namespace FineTuning.Training;

/// <summary>
/// Gives the memory training steps freed back to the system. A step frees its activations, but glibc keeps freed
/// blocks below the mmap threshold as holes in its heap: resident memory stays near the largest step seen, then
/// climbs as batches of other shapes fragment it. A trim (malloc_trim) brings it back to the floor, but the next step
/// must fault its pages in again, so it runs every <see cref="TrainingOptions.HeapTrimEverySteps"/> steps and after
/// validation passes, and is skipped while the trim calls alone have taken more than <see cref="Budget"/> of the
/// training time.
/// </summary>
internal sealed class HeapTrimmer(Stopwatch clock, int everySteps)
{
    /// <summary>The largest share of training time spent in trim calls.</summary>
    public const double Budget = 0.03;

    private TimeSpan _spent;

    /// <summary>Number of trims done.</summary>
    public int Trims { get; private set; }

    /// <summary>After optimizer step <paramref name="step"/> (1-based) or, with null, after a validation pass.</summary>
    public void After(long? step)
    {
        if (everySteps <= 0 || (step is { } s && s % everySteps != 0)) return;
        if (_spent.TotalSeconds > Budget * clock.Elapsed.TotalSeconds) return;
        TimeSpan start = clock.Elapsed;
        if (NativeAllocator.Trim()) Trims++;
        _spent += clock.Elapsed - start;
    }
}

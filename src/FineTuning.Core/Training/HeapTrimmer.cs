using System;
using System.Diagnostics;

namespace FineTuning.Training;

/// <summary>
/// Gives the memory a training step freed back to the system between steps. A step frees its activations, but glibc
/// keeps most of the freed heap (holes between live blocks) and resident memory stays near the largest step seen,
/// then climbs as batches of other shapes fragment it. Trimming after a step brings it back to the floor (measured on
/// all-MiniLM-L6-v2 LoRA: 1.5 GB to 0.67 GB after each step, peak steady at 1.65 GB instead of climbing past 1.8 GB in
/// 24 steps). A trim costs tens of milliseconds on a large heap, so it is skipped whenever the time spent trimming
/// would exceed <see cref="Budget"/> of the training time so far.
/// </summary>
internal sealed class HeapTrimmer(Stopwatch clock)
{
    /// <summary>The largest share of training time spent trimming.</summary>
    public const double Budget = 0.03;

    private TimeSpan _spent;

    /// <summary>Number of trims done.</summary>
    public int Trims { get; private set; }

    /// <summary>Trims unless that would spend more than the budget; call between steps.</summary>
    public void BetweenSteps()
    {
        if (_spent.TotalSeconds > Budget * clock.Elapsed.TotalSeconds) return;
        TimeSpan start = clock.Elapsed;
        if (NativeAllocator.Trim()) Trims++;
        _spent += clock.Elapsed - start;
    }
}

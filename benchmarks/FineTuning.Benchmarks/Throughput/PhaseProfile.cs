using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using FineTuning.Models;
using FineTuning.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Benchmarks.Throughput;

/// <summary>
/// The <c>:profile</c> option of an <c>ours-*</c> configuration (docs/benchmarks/hot-paths.md): wraps the objective and
/// the optimizer of the run with stopwatches, so each step is split into forward + loss (the objective's summed loss),
/// backward + clipping (from the loss's return to the optimizer's call) and the AdamW update, and reads the resident
/// memory (VmRSS) at each boundary. Run the child with <c>MALLOC_MMAP_THRESHOLD_</c> small (e.g. 65536) to make RSS
/// follow the live tensors: every large tensor is then its own mapping, returned at once when freed.
/// Lines go to standard error as <c>PHASE step=.. forward_loss_s=.. backward_clip_s=.. optimizer_s=.. rss_*_mib=..</c>.
/// </summary>
internal sealed class PhaseProfile
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private double _stepStart;
    private double _lossDone;
    private double _rssBefore;
    private double _rssAfterForward;
    private long _step;
    private readonly bool _phasePeaks;
    private double _peakForward;

    /// <param name="phasePeaks">Reset the process's peak (VmHWM, through /proc/self/clear_refs) at every boundary and report each phase's own peak.</param>
    public PhaseProfile(bool phasePeaks = false) => _phasePeaks = phasePeaks;

    private double _stepPeak;

    /// <summary>With phase peaks: the highest of the phase peaks since the last call (the step's own peak); NaN without.</summary>
    internal double TakeStepPeak()
    {
        double peak = _phasePeaks ? Math.Max(_stepPeak, RssMiB("VmHWM")) : double.NaN;
        _stepPeak = 0;
        return peak;
    }

    private double PhasePeak()
    {
        if (!_phasePeaks) return double.NaN;
        double peak = RssMiB("VmHWM");
        _stepPeak = Math.Max(_stepPeak, peak);
        StepRunner.ResetPeak();
        return peak;
    }

    public ITrainingObjective<TokenSequence> Wrap(ITrainingObjective<TokenSequence> inner) => new Objective(this, inner);

    public IOptimizer Wrap(IOptimizer inner) => new Optimizer(this, inner);

    /// <summary>A memory field of /proc/self/status (VmRSS, VmHWM) in MiB; NaN where there is no such file (not Linux).</summary>
    internal static double RssMiB(string field) => StepRunner.StatusMiB(field) ?? double.NaN;

    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
    private struct MallInfo2
    {
        public nuint Arena, Ordblks, Smblks, Hblks, Hblkhd, Usmblks, Fsmblks, Uordblks, Fordblks, Keepcost;
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "mallinfo2")]
    private static extern MallInfo2 NativeMallInfo2();

    /// <summary>glibc's heap at this moment (all arenas): heap bytes, of which in use and free, and mmapped chunks, in MiB.</summary>
    internal static string Heap()
    {
        if (!OperatingSystem.IsLinux()) return string.Empty;
        MallInfo2 m = NativeMallInfo2();
        const double MiB = 1024 * 1024;
        return FormattableString.Invariant($"heap={m.Arena / MiB:F0}/inuse={m.Uordblks / MiB:F0}/free={m.Fordblks / MiB:F0}/mmap={m.Hblkhd / MiB:F0}");
    }

    private string _heapAfterForward = string.Empty;

    private void BeforeLoss()
    {
        _stepStart = _clock.Elapsed.TotalSeconds;
        _rssBefore = RssMiB("VmRSS");
        PhasePeak();
    }

    private void AfterLoss()
    {
        _lossDone = _clock.Elapsed.TotalSeconds;
        _rssAfterForward = RssMiB("VmRSS");
        _heapAfterForward = Heap();
        _peakForward = PhasePeak();
    }

    private void AroundOptimizer(Action step)
    {
        double start = _clock.Elapsed.TotalSeconds;
        double rssAfterBackward = RssMiB("VmRSS");
        string heapAfterBackward = Heap();
        double peakBackward = PhasePeak();
        step();
        double peakOptimizer = PhasePeak();
        double end = _clock.Elapsed.TotalSeconds;
        _step++;
        Console.Error.WriteLine(FormattableString.Invariant(
            $"PHASE step={_step} forward_loss_s={_lossDone - _stepStart:F3} backward_clip_s={start - _lossDone:F3} optimizer_s={end - start:F3} rss_before_mib={_rssBefore:F0} rss_after_forward_mib={_rssAfterForward:F0} rss_after_backward_mib={rssAfterBackward:F0} hwm_mib={RssMiB("VmHWM"):F0} peak_forward_mib={_peakForward:F0} peak_backward_mib={peakBackward:F0} peak_optimizer_mib={peakOptimizer:F0} after_forward {_heapAfterForward} after_backward {heapAfterBackward} after_step {Heap()}"));
    }

    private sealed class Objective(PhaseProfile profile, ITrainingObjective<TokenSequence> inner) : ITrainingObjective<TokenSequence>
    {
        public long CountTargets(IReadOnlyList<TokenSequence> examples) => inner.CountTargets(examples);

        public Tensor SummedLoss(nn.Module model, IReadOnlyList<TokenSequence> examples, Device device)
        {
            profile.BeforeLoss();
            Tensor loss = inner.SummedLoss(model, examples, device);
            profile.AfterLoss();
            return loss;
        }
    }

    private sealed class Optimizer(PhaseProfile profile, IOptimizer inner) : IOptimizer
    {
        public IEnumerable<string> Validate() => inner.Validate();

        public IOptimizerState Create(IReadOnlyList<TrainableParameter> parameters) => new State(profile, inner.Create(parameters));
    }

    private sealed class State(PhaseProfile profile, IOptimizerState inner) : IOptimizerState
    {
        public void Step(double learningRate) => profile.AroundOptimizer(() => inner.Step(learningRate));

        public IReadOnlyDictionary<string, Tensor> StateDict() => inner.StateDict();

        public void LoadStateDict(IReadOnlyDictionary<string, Tensor> state) => inner.LoadStateDict(state);

        public void Dispose() => inner.Dispose();
    }
}

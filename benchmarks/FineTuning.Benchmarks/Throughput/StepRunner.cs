using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using FineTuning.Models;
using FineTuning.Models.Llama;
using FineTuning.Quantization;
using FineTuning.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Benchmarks.Throughput;

/// <summary>
/// One configuration in this process (so its peak resident memory is its own): builds the model, runs warmup + timed
/// training steps and prints one <c>RESULT</c> line that <see cref="ThroughputCommand"/> parses.
/// </summary>
internal static class StepRunner
{
    public static int Run(ThroughputConfig config, ThroughputShape shape, int warmup, int steps, int threads, bool lockstep = false)
    {
        torch.set_num_threads(threads);
        torch.manual_seed(1234); // module initialisers draw from the global generator (benchmark code may seed it)
        var faults = new List<long>();
        var gate = new StepGate(lockstep);
        List<double> times = config.Kind == "plain" ? Plain(config, shape, warmup + steps, faults, gate) : Ours(config, shape, warmup + steps, faults, gate);
        string seconds = string.Join(",", times.Skip(warmup).Select(t => t.ToString("R", CultureInfo.InvariantCulture)));
        // Minor page faults of each timed step: fresh pages a step touches cost time too (about 2 us each here).
        string faulted = string.Join(",", faults.Skip(warmup));
        Console.WriteLine(FormattableString.Invariant($"RESULT {config.Name} peak_rss_mib={PeakRssMiB():F0} step_seconds={seconds} minor_faults={faulted}"));
        return 0;
    }

    internal static List<TokenSequence> Data(ThroughputShape shape, int count)
    {
        var random = new Random(7);
        return Enumerable.Range(0, count)
            .Select(_ => TokenSequence.ForLanguageModeling(Enumerable.Range(0, shape.Sequence).Select(_ => (long)random.Next(shape.Vocab)).ToArray()))
            .ToList();
    }

    private static List<double> Ours(ThroughputConfig config, ThroughputShape shape, int totalSteps, List<long> faults, StepGate gate)
    {
        var llama = new LlamaConfig
        {
            HiddenSize = shape.Hidden, IntermediateSize = shape.Intermediate, NumHiddenLayers = shape.Layers,
            NumAttentionHeads = shape.Heads, NumKeyValueHeads = shape.Heads, VocabSize = shape.Vocab, MaxPositionEmbeddings = shape.Sequence,
        };
        using var model = new LlamaForCausalLM(llama);
        using (var generator = new Generator(1)) model.InitializeWeights(generator);
        model.FusedKernels = !config.Unfused;
        // After FusedKernels, which sets every layer's flags: one kernel back to libtorch's ops for a before/after run.
        foreach (nn.Module module in model.modules())
        {
            if (config.OpsNorm && module is FineTuning.Models.Llama.RmsNorm norm) norm.Fused = false;
            if (config.OpsRope && module is FineTuning.Models.Llama.LlamaAttention attention) attention.Fused = false;
            if (config.OpsSwiGlu && module is FineTuning.Models.Llama.LlamaMlp mlp) mlp.Kernel = false;
        }

        model.GradientCheckpointing = config.Checkpointing;
        FineTuner<TokenSequence> tuner = FineTuner.For(model);
        tuner = config.Adapter switch
        {
            "lora" => tuner.WithLoRA(r: shape.Rank, alpha: 2 * shape.Rank),
            // down_proj's 1376 inputs are not a multiple of NF4's block of 64: it stays fp32 (with its LoRA), as in example 03.
            "qlora" => tuner.WithQLoRA(new QuantizationOptions
            {
                Type = QuantizationType.NF4, DoubleQuantization = config.DoubleQuantization, Targets = QuantizationTargets.AllLinear.Except("down_proj"),
            }, r: shape.Rank, alpha: 2 * shape.Rank),
            "full" => tuner,
            _ => throw new ArgumentException($"unknown adapter '{config.Adapter}' in configuration {config.Name}"),
        };
        var times = new List<double>();
        // A step is the time from the end of one progress report to the next (the trainer's own work counts); in
        // lockstep mode the wait for the parent's go sits between the two and is not counted.
        var clock = new Stopwatch();
        long lastFaults = 0;
        PhaseProfile? profile = config.Profile ? new PhaseProfile() : null;
        ITrainingObjective<TokenSequence> objective = config.OpsLoss ? new CausalLMObjective { LossKernel = false } : model.DefaultObjective;
        if (profile is not null) objective = profile.Wrap(objective);
        if (config.OpsLoss || profile is not null) tuner = tuner.WithObjective(objective);
        tuner = tuner.WithOptions(o =>
        {
            o.MaxSteps = totalSteps;
            o.BatchSize = shape.Batch;
            o.LearningRate = 1e-4;
            o.LogEverySteps = 0;
            o.ParameterDType = config.DType;
            if (config.TuneAllocator is { } tune) o.TuneNativeAllocator = tune;
            if (config.TrimEverySteps is { } trim) o.HeapTrimEverySteps = trim;
            if (profile is not null) o.Optimizer = profile.Wrap(o.Optimizer);
        }).WithProgress(new SyncProgress(_ =>
        {
            times.Add(clock.Elapsed.TotalSeconds);
            faults.Add(MinorFaults() - lastFaults);
            gate.Done(times[^1], faults[^1]);
            if (times.Count < totalSteps) gate.Wait();
            lastFaults = MinorFaults();
            clock.Restart();
        }));
        List<TokenSequence> data = Data(shape, shape.Batch * totalSteps);
        gate.Wait();
        lastFaults = MinorFaults();
        clock.Start();
        using TrainingRun run = tuner.Train(data);
        return times;
    }

    private static List<double> Plain(ThroughputConfig config, ThroughputShape shape, int totalSteps, List<long> faults, StepGate gate)
    {
        bool lora = config.Adapter == "lora";
        if (!lora && config.Adapter != "full") throw new ArgumentException($"the plain loop has LoRA or full fine-tuning, not '{config.Adapter}'");
        using var model = new PlainLlama(shape, lora ? shape.Rank : 0);
        model.to(config.DType);
        IList<TorchSharp.Modules.Parameter> trainable = model.Trainable();
        using optim.Optimizer optimizer = optim.AdamW(trainable, lr: 1e-4, weight_decay: 0);
        List<TokenSequence> data = Data(shape, shape.Batch);
        long[] ids = data.SelectMany(s => s.InputIds).ToArray();
        var times = new List<double>();
        for (int step = 0; step < totalSteps; step++)
        {
            gate.Wait();
            var clock = Stopwatch.StartNew();
            long before = MinorFaults();
            using (var scope = torch.NewDisposeScope())
            {
                Tensor input = torch.tensor(ids, new long[] { shape.Batch, shape.Sequence });
                Tensor logits = model.call(input);
                long n = shape.Sequence - 1;
                Tensor loss = nn.functional.cross_entropy(logits.narrow(1, 0, n).reshape(-1, shape.Vocab).to(ScalarType.Float32),
                    input.narrow(1, 1, n).reshape(-1));
                loss.backward();
                nn.utils.clip_grad_norm_(trainable, 1.0);
                optimizer.step();
                optimizer.zero_grad();
            }

            times.Add(clock.Elapsed.TotalSeconds);
            faults.Add(MinorFaults() - before);
            gate.Done(times[^1], faults[^1]);
        }

        return times;
    }

    /// <summary>Minor page faults of this process so far (field 10 of /proc/self/stat), or 0 where there is no such file.</summary>
    internal static long MinorFaults()
    {
        const string stat = "/proc/self/stat";
        if (!File.Exists(stat)) return 0;
        string text = File.ReadAllText(stat);
        string[] fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(fields[7], CultureInfo.InvariantCulture);
    }

    /// <summary>VmHWM: the highest resident memory of this process (Linux); the peak working set elsewhere.</summary>
    internal static double PeakRssMiB() => StatusMiB("VmHWM") ?? Process.GetCurrentProcess().PeakWorkingSet64 / (1024.0 * 1024.0);

    /// <summary>
    /// Resets VmHWM to the current resident size (Linux 4.0+: "5" written to /proc/self/clear_refs), so the next reading
    /// of <see cref="PeakRssMiB"/> is the peak since this call. False where that is not possible; the peak then stays the process's.
    /// </summary>
    internal static bool ResetPeak()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>VmRSS: the resident memory of this process now (Linux); the working set elsewhere.</summary>
    internal static double RssMiB() => StatusMiB("VmRSS") ?? Process.GetCurrentProcess().WorkingSet64 / (1024.0 * 1024.0);

    /// <summary>A memory field of /proc/self/status (VmRSS, VmHWM) in MiB; null where there is no such file (not Linux).</summary>
    internal static double? StatusMiB(string field)
    {
        const string status = "/proc/self/status";
        if (!File.Exists(status)) return null;
        string line = File.ReadLines(status).First(l => l.StartsWith(field + ":", StringComparison.Ordinal));
        return double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
    }

    /// <summary>
    /// Lockstep mode (<c>throughput --lockstep true</c>): before each step the child prints <c>WAIT</c> and blocks until
    /// the parent writes a line; after it, it prints <c>STEP seconds faults</c>. The parent runs one step of each
    /// configuration in turn, so every configuration's step k meets the same machine conditions.
    /// </summary>
    internal sealed class StepGate(bool enabled)
    {
        public void Wait()
        {
            if (!enabled) return;
            Console.WriteLine("WAIT");
            if (Console.In.ReadLine() is null) throw new InvalidOperationException("lockstep: the parent closed standard input");
        }

        public void Done(double seconds, long faults)
        {
            if (enabled) Console.WriteLine(FormattableString.Invariant($"STEP {seconds:R} {faults}"));
        }
    }

    internal sealed class SyncProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}

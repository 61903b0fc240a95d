using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using FineTuning.Lora;
using FineTuning.Models;
using FineTuning.Models.Llama;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Benchmarks;

/// <summary>
/// Peak memory of one training step with and without gradient checkpointing, and of the loss with and without
/// chunking, each configuration in its own child process (<c>dotnet FineTuning.Benchmarks.dll memory</c>). A child
/// builds its model, runs one warm-up step, gives freed heap back (malloc_trim), resets the kernel's peak-RSS mark
/// (<c>/proc/self/clear_refs</c> = 5), runs the measured steps and reports VmHWM minus the resident size before
/// them: the activations, gradients and temporaries of the step, without weights. Large buffers are mmap'd (glibc
/// threshold 4 MiB, as the trainer's default) so that freed tensors leave RSS at once.
/// </summary>
internal static class MemoryRunner
{
    private static readonly string[] Configurations =
    {
        "loss:chunk=0:trainW=0", "loss:chunk=256:trainW=0", "loss:chunk=0:trainW=1", "loss:chunk=256:trainW=1",
        "step:checkpoint=0:chunk=256", "step:checkpoint=1:chunk=256", "step:checkpoint=0:chunk=0",
    };

    internal static void Run(string[] args)
    {
        if (args[0] == "memory-steptime")
        {
            StepTimes(args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 2);
            return;
        }

        if (args[0] == "memory-time")
        {
            LossTimes(args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 32000, args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 5);
            return;
        }

        if (args.Length > 1 && args[0] == "memory-child")
        {
            Child(args[1], args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 2);
            return;
        }

        int steps = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 2;
        Console.WriteLine($"CPU: {CpuName()}; {Environment.ProcessorCount} cores; load before: {File.ReadAllText("/proc/loadavg").Trim()}");
        Console.WriteLine("| configuration | step peak above weights (MiB) | median time (s) | load after |");
        Console.WriteLine("| --- | --- | --- | --- |");
        string self = typeof(MemoryRunner).Assembly.Location;
        foreach (string configuration in Configurations)
        {
            var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, UseShellExecute = false };
            foreach (string a in new[] { self, "memory-child", configuration, steps.ToString(CultureInfo.InvariantCulture) }) start.ArgumentList.Add(a);
            using Process child = Process.Start(start)!;
            string output = child.StandardOutput.ReadToEnd();
            child.WaitForExit();
            string result = output.Split('\n').LastOrDefault(l => l.StartsWith("RESULT", StringComparison.Ordinal)) ?? $"RESULT failed (exit {child.ExitCode}) -";
            string[] parts = result.Split(' ');
            Console.WriteLine($"| {configuration} | {parts[1]} | {parts[2]} | {File.ReadAllText("/proc/loadavg").Split(' ')[0]} |");
        }
    }

    private static void Child(string configuration, int steps)
    {
        torch.set_num_threads(2);
        if (OperatingSystem.IsLinux()) _ = mallopt(-3 /* M_MMAP_THRESHOLD */, 4 << 20);
        Dictionary<string, string> settings = configuration.Split(':').Skip(1).Select(s => s.Split('=')).ToDictionary(s => s[0], s => s[1]);
        using IWork work = configuration.StartsWith("step", StringComparison.Ordinal)
            ? new StepWork(settings["checkpoint"] == "1", int.Parse(settings["chunk"], CultureInfo.InvariantCulture))
            : new LossWork(int.Parse(settings["chunk"], CultureInfo.InvariantCulture), settings["trainW"] == "1");
        Action run = work.Step;
        run(); // warm-up: lazily created state, first-touch pages
        GC.Collect();
        GC.WaitForPendingFinalizers();
        _ = malloc_trim(0);
        long before = Rss("VmRSS");
        File.WriteAllText("/proc/self/clear_refs", "5"); // reset VmHWM
        var times = new List<double>();
        for (int i = 0; i < steps; i++)
        {
            var clock = Stopwatch.StartNew();
            run();
            times.Add(clock.Elapsed.TotalSeconds);
        }
        long peak = Rss("VmHWM");
        times.Sort();
        Console.WriteLine(FormattableString.Invariant($"RESULT {(peak - before) / 1024.0:F0} {times[times.Count / 2]:F2}"));
    }

    /// <summary>
    /// Time of the loss alone (forward + backward, frozen head) with full logits and chunked, interleaved in one process
    /// so that both see the same machine load: medians over <paramref name="rounds"/> rounds.
    /// </summary>
    private static void LossTimes(int vocab, int rounds)
    {
        torch.set_num_threads(2);
        var works = new (string Name, LossWork Work)[]
        {
            ("full logits", new LossWork(0, false, vocab)), ("chunked 256", new LossWork(256, false, vocab)),
            ("chunked 1024", new LossWork(1024, false, vocab)), ("one chunk of 2048", new LossWork(2048, false, vocab)),
        };
        var times = works.ToDictionary(w => w.Name, _ => new List<double>());
        foreach ((_, LossWork work) in works) work.Step(); // warm-up
        for (int r = 0; r < rounds; r++)
        {
            foreach ((string name, LossWork work) in works)
            {
                var clock = Stopwatch.StartNew();
                work.Step();
                times[name].Add(clock.Elapsed.TotalSeconds);
            }
        }

        Console.WriteLine($"vocab {vocab}, 2048 tokens, hidden 512, frozen head; load {File.ReadAllText("/proc/loadavg").Trim()}");
        foreach ((string name, List<double> t) in times)
        {
            t.Sort();
            Console.WriteLine(FormattableString.Invariant($"{name}: median {t[t.Count / 2]:F3} s (min {t[0]:F3}, max {t[^1]:F3})"));
        }
        foreach ((_, LossWork work) in works) work.Dispose();
    }

    /// <summary>
    /// Step time (forward + backward) of the LLaMA LoRA step without checkpointing and full logits, without
    /// checkpointing and chunked, with both: one model, the settings switched between steps, interleaved rounds.
    /// </summary>
    private static void StepTimes(int rounds)
    {
        torch.set_num_threads(2);
        using var work = new StepWork(false, 0);
        var settings = new (string Name, bool Checkpoint, int Chunk)[] { ("plain, full logits", false, 0), ("plain, chunked 256", false, 256), ("checkpointing, chunked 256", true, 256) };
        var times = settings.ToDictionary(s => s.Name, _ => new List<double>());
        for (int r = -1; r < rounds; r++) // round -1 warms up
        {
            foreach ((string name, bool checkpoint, int chunk) in settings)
            {
                work.Set(checkpoint, chunk);
                var clock = Stopwatch.StartNew();
                work.Step();
                if (r >= 0) times[name].Add(clock.Elapsed.TotalSeconds);
            }
        }

        Console.WriteLine($"LLaMA h512 x 8 layers, vocab 8000, LoRA r16 all linear, batch 8 x 256; load {File.ReadAllText("/proc/loadavg").Trim()}");
        foreach ((string name, List<double> t) in times)
        {
            t.Sort();
            Console.WriteLine(FormattableString.Invariant($"{name}: median {t[t.Count / 2]:F2} s (all: {string.Join(", ", t.Select(x => x.ToString("F2", CultureInfo.InvariantCulture)))})"));
        }
    }

    /// <summary>One forward + backward of LoRA r=16 on all linear layers of the issue's LLaMA shape, batch 8 x 256.</summary>
    private sealed class StepWork : IWork
    {
        private readonly LlamaForCausalLM _model;
        private readonly TokenSequence[] _batch;
        private CausalLMObjective _objective;

        public StepWork(bool checkpoint, int chunk)
        {
            _model = new LlamaForCausalLM(new LlamaConfig
            {
                HiddenSize = 512, IntermediateSize = 1376, NumHiddenLayers = 8, NumAttentionHeads = 8, NumKeyValueHeads = 8,
                VocabSize = 8000, MaxPositionEmbeddings = 512, RmsNormEps = 1e-5, RopeTheta = 10000,
            });
            using (var g = new Generator(1)) _model.InitializeWeights(g);
            new LoRAAdapter(new LoRAOptions { R = 16, Alpha = 32, Targets = LoRATargets.AllLinear, Seed = 1 }).Apply(_model);
            _model.train();
            _model.GradientCheckpointing = checkpoint;
            _objective = new CausalLMObjective { LossChunkSize = chunk };
            var random = new Random(1);
            _batch = Enumerable.Range(0, 8).Select(_ => TokenSequence.ForLanguageModeling(Enumerable.Range(0, 256).Select(_ => (long)random.Next(8000)).ToArray())).ToArray();
        }

        public void Set(bool checkpoint, int chunk)
        {
            _model.GradientCheckpointing = checkpoint;
            _objective = new CausalLMObjective { LossChunkSize = chunk };
        }

        public void Step()
        {
            using var scope = NewDisposeScope();
            _objective.SummedLoss(_model, _batch, CPU).backward();
            foreach (var p in _model.parameters()) p.grad = null;
        }

        public void Dispose() => _model.Dispose();
    }

    /// <summary>The loss alone: hidden states [2048, 512] (requiring grad) through a head of vocab 128,256 (LLaMA 3's) by default, forward + backward.</summary>
    private sealed class LossWork : IWork
    {
        private readonly Tensor _hidden;
        private readonly Tensor _weight;
        private readonly Tensor _labels;
        private readonly int _chunk;

        public LossWork(int chunk, bool trainWeight, int vocab = 128256)
        {
            using var g = new Generator(2);
            _chunk = chunk;
            _hidden = randn(new long[] { 8, 256, 512 }, generator: g).requires_grad_(true);
            _weight = randn(new long[] { vocab, 512 }, generator: g).mul_(0.02).requires_grad_(trainWeight);
            _labels = randint(vocab, new long[] { 8, 256 }, generator: g);
        }

        public void Step()
        {
            using var scope = NewDisposeScope();
            Tensor loss = _chunk > 0
                ? LinearCrossEntropy.SummedNextTokenLoss(_hidden, _weight, _labels, _chunk)
                : CausalLMObjective.SummedNextTokenLoss(nn.functional.linear(_hidden, _weight), _labels);
            loss.backward();
            _hidden.grad = null;
            if (_weight.requires_grad) _weight.grad = null;
        }

        public void Dispose()
        {
            _hidden.Dispose();
            _weight.Dispose();
            _labels.Dispose();
        }
    }

    private interface IWork : IDisposable
    {
        void Step();
    }

    private static long Rss(string field) =>
        long.Parse(File.ReadLines("/proc/self/status").First(l => l.StartsWith(field + ":", StringComparison.Ordinal))
            .Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);

    private static string CpuName() =>
        File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':')[1].Trim() ?? "unknown";

    [DllImport("libc", EntryPoint = "mallopt")]
    private static extern int mallopt(int param, int value);

    [DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int malloc_trim(nuint pad);
}

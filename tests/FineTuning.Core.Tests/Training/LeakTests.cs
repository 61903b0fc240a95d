using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using FineTuning.Testing;
using FineTuning.Training;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;

namespace FineTuning.Core.Tests.Training;

/// <summary>Runs alone so other tests' allocations do not blur the process's resident memory.</summary>
[CollectionDefinition(nameof(MemoryCollection), DisableParallelization = true)]
public sealed class MemoryCollection
{
}

[Collection(nameof(MemoryCollection))]
public sealed class LeakTests(ITestOutputHelper output)
{
    /// <summary>Resident memory may grow by at most this much between step 100 and step 1,000.</summary>
    private const double RssBoundMiB = 48;

    [Fact]
    public void Train_ThousandSteps_LiveTensorsConstant_AndResidentMemoryBounded()
    {
        using Mlp model = TinyModels.Mlp(64, 512, 16, seed: 9);
        var random = new Random(1);
        List<LabeledVector> data = Enumerable.Range(0, 256)
            .Select(i => new LabeledVector(Enumerable.Range(0, 64).Select(_ => (float)random.NextDouble()).ToArray(), i % 16))
            .ToList();
        var liveTensors = new Dictionary<long, long>();
        var rss = new Dictionary<long, double>();
        var progress = new TrainerTests.SyncProgress(p =>
        {
            if (p.Step is 100 or 500 or 1000)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
                liveTensors[p.Step] = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
                rss[p.Step] = ResidentMiB();
            }
        });

        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        using (FineTuner.For(model, new VectorClassificationObjective())
                   .WithOptions(o => { o.MaxSteps = 1000; o.BatchSize = 32; o.LearningRate = 1e-3; o.Optimizer = new AdamWOptimizer(WeightDecay: 0.01); })
                   .WithProgress(progress)
                   .Train(data))
        {
        }
        long after = DisposeScopeManager.Statistics.ThreadTotalLiveCount;

        output.WriteLine($"live tensors: before {before}, step 100 {liveTensors[100]}, 500 {liveTensors[500]}, 1000 {liveTensors[1000]}, after {after}");
        output.WriteLine($"RSS MiB: step 100 {rss[100]:F1}, 500 {rss[500]:F1}, 1000 {rss[1000]:F1}");
        Assert.Equal(liveTensors[100], liveTensors[1000]);
        Assert.Equal(before, after);
        Assert.True(rss[1000] - rss[100] < RssBoundMiB, $"RSS grew {rss[1000] - rss[100]:F1} MiB between step 100 and 1000");
    }

    /// <summary>
    /// A step frees its activations; between steps the trainer gives glibc's freed heap back to the system, so resident
    /// memory after a step is back near where it was before training although each step allocates far more (3 MiB
    /// activations: below the mmap threshold, so they live in the heap, where freed holes used to stay resident).
    /// </summary>
    [Fact]
    public void HeapTrim_ReturnsTheMemoryStepsFreed_ToTheSystem()
    {
        if (!OperatingSystem.IsLinux()) return; // glibc-specific behaviour; elsewhere nothing is trimmed
        using var model = new DeepMlp(width: 768, depth: 24);
        var random = new Random(2);
        List<LabeledVector> data = Enumerable.Range(0, 1000)
            .Select(i => new LabeledVector(Enumerable.Range(0, 768).Select(_ => (float)random.NextDouble()).ToArray(), i % 16))
            .ToList();

        List<double> Run(int trimEvery, out double before)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            before = ResidentMiB();
            var afterStep = new List<double>();
            using (FineTuner.For(model, new VectorClassificationObjective())
                       .WithOptions(o => { o.MaxSteps = 4; o.BatchSize = 1000; o.LearningRate = 1e-3; o.Optimizer = new SgdOptimizer(); o.HeapTrimEverySteps = trimEvery; })
                       .WithProgress(new TrainerTests.SyncProgress(_ => afterStep.Add(ResidentMiB())))
                       .Train(data))
            {
            }
            return afterStep;
        }

        // Never trimmed: the freed activations stay resident. Then trimmed after every step: back near the start.
        List<double> kept = Run(trimEvery: 0, out double keptStart);
        List<double> trimmed = Run(trimEvery: 1, out double trimmedStart);
        double activations = model.PeakActivationMiB;
        string Show(IEnumerable<double> r) => string.Join(", ", r.Select(x => x.ToString("F0", System.Globalization.CultureInfo.InvariantCulture)));
        output.WriteLine($"activations per step {activations:F0} MiB; RSS MiB never trimmed: start {keptStart:F0}, after steps {Show(kept)}; " +
                         $"trimmed every step: start {trimmedStart:F0}, after steps {Show(trimmed)}");
        Assert.True(activations > 100, $"the step should hold > 100 MiB of activations ({activations:F0})");
        Assert.True(kept[^1] - keptStart > 0.4 * activations, "without trimming the freed heap should stay resident (else this test shows nothing)");
        // Trims stay within a time budget (HeapTrimmer.Budget), so which later steps are trimmed depends on how long the
        // steps take on this CPU (the first always is), and on a loaded machine a single reading can catch a transient
        // spike: the lowest reading after a step must be back near the floor, which never happens without trimming.
        double lowest = trimmed.Min();
        Assert.True(lowest - keptStart < 0.4 * activations, $"after every trimmed step RSS stayed {lowest - keptStart:F0} MiB or more above the first start");
    }

    /// <summary>depth tanh(Linear(width, width)) layers and a 16-way head; records the activation bytes one forward holds.</summary>
    private sealed class DeepMlp : torch.nn.Module<torch.Tensor, torch.Tensor>
    {
        private readonly TorchSharp.Modules.ModuleList<torch.nn.Module<torch.Tensor, torch.Tensor>> layers = new();
        private readonly torch.nn.Module<torch.Tensor, torch.Tensor> head;

        public DeepMlp(int width, int depth)
            : base(nameof(DeepMlp))
        {
            for (int i = 0; i < depth; i++) layers.Add(torch.nn.Linear(width, width));
            head = torch.nn.Linear(width, 16);
            RegisterComponents();
        }

        public double PeakActivationMiB { get; private set; }

        public override torch.Tensor forward(torch.Tensor input)
        {
            torch.Tensor h = input;
            long bytes = 0;
            foreach (var layer in layers)
            {
                torch.Tensor z = layer.call(h);
                h = z.tanh();
                bytes += z.numel() * z.element_size() + h.numel() * h.element_size();
            }
            PeakActivationMiB = Math.Max(PeakActivationMiB, bytes / (1024.0 * 1024.0));
            return head.call(h);
        }
    }

    private static double ResidentMiB()
    {
        // VmRSS from /proc (Linux); elsewhere the working set is the closest equivalent.
        const string status = "/proc/self/status";
        if (File.Exists(status))
        {
            string line = File.ReadLines(status).First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
            return double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) / 1024;
        }
        return Environment.WorkingSet / (1024.0 * 1024.0);
    }
}

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

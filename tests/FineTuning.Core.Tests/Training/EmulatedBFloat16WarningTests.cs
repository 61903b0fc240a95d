using System;
using System.Collections.Generic;
using System.Linq;
using FineTuning.Core.Tests.Monitoring;
using FineTuning.Testing;
using FineTuning.Training;
using Microsoft.Extensions.Logging;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Core.Tests.Training;

/// <summary>bf16 training on a CPU that emulates bf16 gives an <c>emulated_bf16</c> warning; the CPU check is replaced so this runs on any CPU.</summary>
public sealed class EmulatedBFloat16WarningTests
{
    private static readonly List<LabeledVector> Data = Enumerable.Range(0, 8).Select(i => new LabeledVector(new float[] { i, 1, -i, 0.5f }, i % 2)).ToList();

    private static TrainingRun Train(Action<TrainingOptions> options, ListLogger? log = null, ITrainingCallback? callback = null)
    {
        using Mlp model = TinyModels.Mlp(4, 8, 2, seed: 3);
        FineTuner<LabeledVector> builder = FineTuner.For(model, new VectorClassificationObjective())
            .WithOptions(o => { o.MaxSteps = 2; o.BatchSize = 4; o.LogEverySteps = 0; options(o); });
        if (log is not null) builder = builder.WithLogging(LoggerFactory.Create(b => b.AddProvider(log)));
        if (callback is not null) builder = builder.WithCallback(callback);
        return builder.Train(Data);
    }

    [Fact]
    public void Train_BFloat16OnCpuWithoutNativeBFloat16_WarningInRunLogAndCallbacks()
    {
        using var log = new ListLogger();
        var calls = new ScriptedRun.Recorder();

        using TrainingRun run = Train(o => { o.ParameterDType = ScalarType.BFloat16; o.NativeBFloat16 = () => false; }, log, calls);

        TrainingWarning warning = Assert.Single(run.Warnings);
        Assert.Equal(("emulated_bf16", 0L), (warning.Code, warning.Step));
        Assert.Contains("about 60x slower than fp32", warning.Message, StringComparison.Ordinal);
        Assert.Contains(log.Entries, e => e.Level == LogLevel.Warning && e.Message == "emulated_bf16 at step 0: " + warning.Message);
        Assert.Equal(new[] { "begin", "warning:0", "step:1", "step:2", "end" }, calls.Calls);
    }

    [Theory]
    [InlineData(ScalarType.BFloat16, true)]     // native bf16: fast enough, no warning
    [InlineData(ScalarType.BFloat16, null)]     // cannot be told (not Linux x86-64): no claim either way
    [InlineData(ScalarType.Float32, false)]     // no bf16 at all
    public void Train_NoEmulatedBFloat16_NoWarning(ScalarType dtype, bool? native)
    {
        using TrainingRun run = Train(o => { o.ParameterDType = dtype; o.NativeBFloat16 = () => native; });
        Assert.Empty(run.Warnings);
    }

    [Fact]
    public void Train_AutoOnCpuWithoutNativeBFloat16_ChoosesFloat32_NoWarning()
    {
        using Mlp model = TinyModels.Mlp(4, 8, 2, seed: 3);
        using TrainingRun run = FineTuner.For(model, new VectorClassificationObjective())
            .WithOptions(o => { o.MaxSteps = 1; o.BatchSize = 8; o.DTypePolicy = DTypePolicy.Auto; o.NativeBFloat16 = () => false; })
            .Train(Data);

        Assert.Empty(run.Warnings);
        Assert.All(model.parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));
    }
}
